using System.Security.Cryptography;
using System.Text;
using VisualGen.Checkpoints;

namespace VisualGen.Exporter.Export;

/// <summary>
/// A cheap fingerprint of a component's weights: each safetensors file's name, size, its first 64 KiB (the header
/// — names, dtypes, shapes, offsets — or, for a header over 64 KiB, its start) and its last 64 KiB of data. Hashing every byte of a 28 GB checkpoint on each load would
/// cost more than the load; a changed file almost always changes its size, header or sampled bytes.
/// </summary>
public static class WeightFingerprint
{
    const int SampleBytes = 1 << 16;

    public static string Of(string componentDir)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var files = Directory.EnumerateFiles(componentDir, "*.safetensors*").Order(StringComparer.Ordinal).ToList();
        foreach (var path in files)
        {
            var info = new FileInfo(path);
            sha.AppendData(Encoding.UTF8.GetBytes($"{info.Name}:{info.Length}\n"));
            using var fs = File.OpenRead(path);
            int n = (int)Math.Min(info.Length, 8 + SampleBytes);
            var head = new byte[n];
            fs.ReadExactly(head);
            sha.AppendData(head);
            if (info.Length > 2L * SampleBytes)
            {
                fs.Seek(-SampleBytes, SeekOrigin.End);
                var tail = new byte[SampleBytes];
                fs.ReadExactly(tail);
                sha.AppendData(tail);
            }
        }
        string config = Path.Combine(componentDir, "config.json");
        if (File.Exists(config)) sha.AppendData(File.ReadAllBytes(config));
        return Convert.ToHexString(sha.GetHashAndReset()).ToLowerInvariant();
    }
}
