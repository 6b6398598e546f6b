using System.Security.Cryptography;
using System.Text;
using VisualGen.Engines;

namespace VisualGen.Exporter.Export;

/// <summary>
/// The engine cache's memo of weight-file hashes: <c>&lt;cache&gt;/.weight-hashes/&lt;SHA-256 of the full path&gt;.json</c>,
/// one small file per weight file, holding the file's SHA-256 and the <see cref="WeightFileStamp"/> it had when it was
/// hashed, so <see cref="WeightFingerprint"/> reads a multi-gigabyte checkpoint once, not on every run. A record applies
/// only while the file's path and stamp are unchanged; only settled stamps are recorded (see
/// <see cref="WeightFileStamp.IsSettled"/>). Records are written to a temporary file and renamed, so concurrent
/// processes never read half of one; a record that is unreadable or does not match is reported and the file hashed again.
/// The memo never enters a key: the fingerprint is of the bytes only, so a copied checkpoint or cache still hits.
/// </summary>
public sealed class WeightHashMemo(string cacheRoot)
{
    public const string FolderName = ".weight-hashes";
    const string Schema = "visualgen-weight-hash/2";  // 2: FileDigest values

    public string Directory { get; } = Path.Combine(cacheRoot, FolderName);

    /// <summary>One weight file's hash and the stamp it had when hashed.</summary>
    public sealed record Record
    {
        public string Schema { get; init; } = WeightHashMemo.Schema;
        public required string Path { get; init; }
        public required long Size { get; init; }
        public required long LastWriteTicks { get; init; }
        public required long ChangeTicks { get; init; }
        public required ulong Device { get; init; }
        public required ulong Inode { get; init; }
        public required string Sha256 { get; init; }

        public bool Matches(string path, WeightFileStamp stamp) =>
            Path == path && Size == stamp.Size && LastWriteTicks == stamp.LastWriteTicks && ChangeTicks == stamp.ChangeTicks
            && Device == stamp.Device && Inode == stamp.Inode;
    }

    /// <summary>The record file of the weight file at <paramref name="fullPath"/>.</summary>
    public string PathOf(string fullPath) =>
        System.IO.Path.Combine(Directory, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(fullPath))) + ".json");

    /// <summary>The recorded SHA-256 of <paramref name="fullPath"/> if its record matches <paramref name="stamp"/>; null
    /// otherwise, with <paramref name="problem"/> saying why when a record exists but is unreadable (a record of an
    /// older stamp is no problem: the file was rewritten).</summary>
    public string? Read(string fullPath, WeightFileStamp stamp, out string? problem)
    {
        problem = null;
        string path = PathOf(fullPath);
        if (!File.Exists(path)) return null;
        var record = JsonRecordFile.Read<Record>(path, out string? why);
        if (why is not null) { problem = $"weight hash record {path} {why}"; return null; }
        if (record is null || record.Schema != Schema || record.Sha256 is not { Length: 64 } sha || !sha.All(char.IsAsciiHexDigitLower))
        {
            problem = $"weight hash record {path} is not a record of {Schema}";
            return null;
        }
        return record.Matches(fullPath, stamp) ? record.Sha256 : null;
    }

    /// <summary>Records <paramref name="sha256"/> for <paramref name="fullPath"/> as of <paramref name="stamp"/>
    /// (temporary file, then rename).</summary>
    public void Write(string fullPath, WeightFileStamp stamp, string sha256)
    {
        var record = new Record
        {
            Path = fullPath, Size = stamp.Size, LastWriteTicks = stamp.LastWriteTicks, ChangeTicks = stamp.ChangeTicks,
            Device = stamp.Device, Inode = stamp.Inode, Sha256 = sha256,
        };
        JsonRecordFile.Write(PathOf(fullPath), record);
    }
}
