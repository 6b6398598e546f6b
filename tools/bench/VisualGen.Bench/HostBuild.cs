using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Engines.Cuda.Model;
using VisualGen.Quantization;
using VisualGen.Tensors;

/// <summary>
/// <c>visualgen-bench host-build WORKDIR</c>: the host side of an engine build, each step against the way it was done
/// before stop 33, timed in the same process on this machine (no GPU): FP8 per-tensor quantization of a bf16 weight
/// (widened to float32 and quantized by the scheme, against <see cref="Fp8PerTensorScheme.QuantizeStored"/>), bf16
/// widening, E4M3 decoding, a file's digest (one SHA-256 stream against <see cref="FileDigest"/>) and an entry's
/// weights.bin (copied from the export's data file, against taking the file). WORKDIR holds ~6 GB of scratch files,
/// deleted after. Prints a table; each row is the best of three.
/// </summary>
static class HostBuild
{
    public static int Run(string workDir)
    {
        Directory.CreateDirectory(workDir);
        string dir = Path.Combine(workDir, $"host-build-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            Console.WriteLine($"host: {Environment.ProcessorCount} cores");
            Console.WriteLine("| step | before | now | speed-up |");
            Console.WriteLine("| --- | ---: | ---: | ---: |");
            Fp8Weight();
            Digest(dir);
            Weights(dir);
            return 0;
        }
        finally { Directory.Delete(dir, true); }
    }

    static double Best(Action run)
    {
        double best = double.MaxValue;
        for (int r = 0; r < 3; r++)
        {
            var sw = Stopwatch.StartNew();
            run();
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
        }
        return best;
    }

    static void Row(string step, double before, double now, string unit = "ms") =>
        Console.WriteLine(FormattableString.Invariant($"| {step} | {before:F1} {unit} | {now:F1} {unit} | {before / now:F1}x |"));

    /// <summary>FLUX.1-dev's largest linear, 3072 x 12288 bf16.</summary>
    static void Fp8Weight()
    {
        const int rows = 3072, cols = 12288;
        var rnd = new Random(1);
        var values = new float[rows * cols];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(rnd.NextDouble() * 2 - 1) * 0.05f;
        var stored = ElementConvert.FromFloat32(values, TensorDType.BF16);
        double before = Best(() =>
        {
            var q = new Fp8PerTensorScheme().Quantize(new SourceTensor("w", TensorDType.BF16, [rows, cols],
                ElementConvert.ToFloat32(stored, TensorDType.BF16, values.Length)));
            _ = q.PartNames.Where(p => p != "dequant").ToDictionary(p => p, q.Bytes);
        });
        double now = Best(() => Fp8PerTensorScheme.QuantizeStored("w", TensorDType.BF16, stored));
        Row("FP8 per-tensor weight 3072x12288 bf16: widen + scheme's Quantize (parts kept) / QuantizeStored", before, now);

        var wide = new float[values.Length];
        var bits = MemoryMarshal.Cast<byte, ushort>(stored.AsSpan()).ToArray();
        before = Best(() => { for (int i = 0; i < wide.Length; i++) wide[i] = ElementConvert.BFloat16ToFloat(bits[i]); });
        now = Best(() => ElementConvert.ToFloat32(stored, TensorDType.BF16, wide));
        Row("bf16 -> float32, 38 M values: one at a time / ElementConvert.ToFloat32", before, now);

        var codes = Fp8PerTensorScheme.QuantizeStored("w", TensorDType.BF16, stored).Codes;
        before = Best(() => { for (int i = 0; i < codes.Length; i++) wide[i] = DecodeE4M3ByFormula(codes[i]); });
        now = Best(() => { for (int i = 0; i < codes.Length; i++) wide[i] = E4M3.Decode(codes[i]); });
        Row("E4M3 decode, 38 M codes: the formula (two MathF.Pow) / E4M3.Decode", before, now);
    }

    /// <summary>What E4M3.Decode computed per value before its table (ElementConvert's former Float8E4M3ToFloat).</summary>
    static float DecodeE4M3ByFormula(byte b)
    {
        int sign = b >> 7, exp = (b >> 3) & 0xf, man = b & 7;
        if (exp == 0xf && man == 7) return float.NaN;
        float v = exp == 0 ? man / 8f * MathF.Pow(2, -6) : (1 + man / 8f) * MathF.Pow(2, exp - 7);
        return sign == 1 ? -v : v;
    }

    static string RandomFile(string path, long bytes)
    {
        var buffer = new byte[64 << 20];
        new Random(2).NextBytes(buffer);
        using var fs = File.Create(path);
        for (long left = bytes; left > 0; left -= buffer.Length) fs.Write(buffer, 0, (int)Math.Min(buffer.Length, left));
        return path;
    }

    static void Digest(string dir)
    {
        string file = RandomFile(Path.Combine(dir, "weights.safetensors"), 1500L << 20);
        double before = Best(() =>
        {
            using var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            SHA256.HashData(fs);
        });
        double now = Best(() => FileDigest.Of(file));
        Row("digest of a 1.5 GiB file (page cache): one SHA-256 stream / FileDigest", before, now);
        File.Delete(file);
    }

    /// <summary>An export's data file of 48 constants of 64 MiB (3 GiB: FP8 codes) made into an entry's weights.bin.</summary>
    static void Weights(string dir)
    {
        const int count = 48;
        const long each = 64L << 20;
        OpGraph Graph(string file)
        {
            var g = new OpGraph();
            for (int i = 0; i < count; i++)
                g.Constants[$"w{i:D2}"] = new ConstTensor($"w{i:D2}", TensorDType.U8, [each], () => throw new InvalidOperationException())
                    { Stored = new FileRange(file, i * each, each) };
            return g;
        }
        double Once(bool take)
        {
            string staging = Path.Combine(dir, $"staging-{Guid.NewGuid():N}"), entry = Path.Combine(dir, $"entry-{Guid.NewGuid():N}");
            Directory.CreateDirectory(staging);
            Directory.CreateDirectory(entry);
            string data = RandomFile(Path.Combine(staging, "model.onnx.data"), count * each);
            var sw = Stopwatch.StartNew();
            PlanFile.Write(Graph(data), entry, new Dictionary<string, byte[]>(), ownedDirectory: take ? staging : null);
            double ms = sw.Elapsed.TotalMilliseconds;
            Directory.Delete(staging, true);
            Directory.Delete(entry, true);
            return ms;
        }
        double before = Enumerable.Range(0, 3).Min(_ => Once(take: false));
        double now = Enumerable.Range(0, 3).Min(_ => Once(take: true));
        Row("weights.bin from a 3 GiB export data file: copied / taken (PlanFile.Write ownedDirectory)", before, now);
    }
}
