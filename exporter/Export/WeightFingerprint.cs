using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using VisualGen.Engines;

namespace VisualGen.Exporter.Export;

/// <summary>
/// The fingerprint of a component's weights in its engine cache key: SHA-256 over each safetensors file of the folder
/// (single files, shards and the <c>.safetensors.index.json</c> weight map: every <c>*.safetensors*</c> file, in ordinal
/// order) by name, size and the <see cref="FileDigest"/> of every byte (64 MiB chunks hashed on all cores), then
/// <c>config.json</c>. It depends on names and bytes only, not
/// on the folder's path or write times, so a copied checkpoint gives the same fingerprint (and a copied cache hits).
/// Hashing every byte of a multi-gigabyte checkpoint costs seconds; with a <see cref="WeightHashMemo"/> each file is
/// hashed once and then taken from the memo while its <see cref="WeightFileStamp"/> is unchanged.
/// </summary>
public static class WeightFingerprint
{
    const string Schema = "visualgen-weights/3";  // 3: file digests by FileDigest

    /// <summary>A fingerprint and what computing it read.</summary>
    /// <param name="Value">The fingerprint (hex SHA-256).</param>
    /// <param name="BytesHashed">Bytes of weight files read and hashed (0 when the memo had every file).</param>
    /// <param name="FilesHashed">Weight files read and hashed.</param>
    /// <param name="WeightBytes">Bytes of all weight files of the folder.</param>
    public sealed record Result(string Value, long BytesHashed, int FilesHashed, long WeightBytes);

    /// <summary>The weight files of <paramref name="componentDir"/> that the fingerprint covers.</summary>
    public static IReadOnlyList<string> FilesOf(string componentDir) =>
        Directory.EnumerateFiles(componentDir, "*.safetensors*").Order(StringComparer.Ordinal).ToList();

    /// <summary>The fingerprint of <paramref name="componentDir"/>, hashing every weight file.</summary>
    public static string Of(string componentDir) => Compute(componentDir, null, null, Path.GetFileName(componentDir)).Value;

    /// <summary>The fingerprint of <paramref name="componentDir"/> (<paramref name="component"/> names it in progress
    /// lines), taking file hashes from <paramref name="memo"/> where it has them and recording the others.</summary>
    public static Result Compute(string componentDir, WeightHashMemo? memo, IProgress<string>? progress, string component)
    {
        string config = Path.Combine(componentDir, "config.json");
        return Compute(FilesOf(componentDir), File.Exists(config) ? File.ReadAllBytes(config) : null, memo, progress, component);
    }

    /// <summary>The fingerprint of a component inside a monolithic file: the file's hash (memoized like a folder's
    /// files), the component's name and its config mapped from the file's metadata.</summary>
    public static Result ComputeInFile(string file, string component, string configJson, WeightHashMemo? memo, IProgress<string>? progress) =>
        Compute([file], Encoding.UTF8.GetBytes($"component {component}\n{configJson}"), memo, progress, component);

    static Result Compute(IReadOnlyList<string> weightFiles, byte[]? config, WeightHashMemo? memo, IProgress<string>? progress, string component)
    {
        var files = weightFiles.Select(f => new WeightFile(Path.GetFullPath(f))).ToList();
        if (memo is not null) Recall(files, memo, progress);

        var pending = files.Where(f => f.Sha256 is null).ToList();
        long pendingBytes = pending.Sum(f => f.Size);
        if (pending.Count > 0) progress?.Report($"hashing weights of {component}: {Size(pendingBytes)} ({Files(pending.Count)})");
        var clock = Stopwatch.StartNew();
        foreach (var file in pending)
        {
            file.Sha256 = FileDigest.Of(file.Path, out long read);
            if (read != file.Size) // written while it was listed: the fingerprint is of what was read
            {
                progress?.Report($"weight file {file.Path} was {Size(file.Size)} when listed and {Size(read)} when hashed");
                file.Size = read;
                file.Stamp = null;
            }
            if (memo is not null) Remember(file, memo, progress);
        }
        if (pending.Count > 0)
            progress?.Report(FormattableString.Invariant($"hashed weights of {component}: {Size(pendingBytes)} in {clock.Elapsed.TotalSeconds:F1} s"));

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(Schema + "\n"));
        foreach (var file in files)
            sha.AppendData(Encoding.UTF8.GetBytes($"{Path.GetFileName(file.Path)}:{file.Size.ToString(CultureInfo.InvariantCulture)}:{file.Sha256}\n"));
        if (config is not null) sha.AppendData(config);
        return new Result(Convert.ToHexStringLower(sha.GetHashAndReset()), pendingBytes, pending.Count, files.Sum(f => f.Size));
    }

    sealed class WeightFile(string path)
    {
        public string Path { get; } = path;
        public WeightFileStamp? Stamp { get; set; }
        public long Size { get; set; } = VisualGen.Engines.FileState.Target(path).Length;
        public string? Sha256 { get; set; }
    }

    static void Recall(List<WeightFile> files, WeightHashMemo memo, IProgress<string>? progress)
    {
        foreach (var file in files)
        {
            file.Stamp = WeightFileStamp.Of(file.Path);
            if (file.Stamp is not { } stamp)
            {
                progress?.Report($"weight hash memo: {file.Path} has no change time on this platform or file system; hashing it on every run");
                continue;
            }
            file.Size = stamp.Size;
            file.Sha256 = memo.Read(file.Path, stamp, out string? problem);
            if (problem is not null) progress?.Report($"{problem}; hashing {file.Path} again");
        }
    }

    /// <summary>Records a hash when the file did not change while it was read and its stamp is settled.</summary>
    static void Remember(WeightFile file, WeightHashMemo memo, IProgress<string>? progress)
    {
        if (file.Stamp is not { } before) return;
        var after = WeightFileStamp.Of(file.Path);
        if (after != before)
        {
            progress?.Report($"weight hash memo: {file.Path} changed while it was hashed; not recording it");
            return;
        }
        if (!before.IsSettled(DateTime.UtcNow))
        {
            progress?.Report($"weight hash memo: not recording {file.Path}: written less than {VisualGen.Engines.FileState.SettleTime.TotalSeconds:0} s ago");
            return;
        }
        try { memo.Write(file.Path, before, file.Sha256!); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            progress?.Report($"weight hash memo: could not record {file.Path} in {memo.Directory} ({e.Message}); it is hashed again next run");
        }
    }

    static string Size(long bytes) => bytes >= 1e9
        ? FormattableString.Invariant($"{bytes / 1e9:F2} GB")
        : FormattableString.Invariant($"{bytes / 1e6:F1} MB");

    static string Files(int n) => n == 1 ? "1 file" : $"{n} files";
}
