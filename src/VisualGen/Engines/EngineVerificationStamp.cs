namespace VisualGen.Engines;

/// <summary>
/// <c>verified.json</c> in an engine cache entry: for each file whose SHA-256 was checked against the manifest, the
/// size and write time it had when it was checked. A later load re-hashes only the files whose size or write time
/// differ, so a multi-gigabyte entry is hashed in full when it is first loaded, not on every load. Only files whose
/// write is settled (<see cref="FileState.IsSettled"/>) are recorded; an unreadable stamp is ignored (every file is
/// hashed again). The stamp is written to a temporary file and renamed, so concurrent loaders never see half of one.
/// </summary>
public sealed record EngineVerificationStamp
{
    public const string FileName = "verified.json";

    /// <summary>The entry's key (a stamp copied into another entry does not apply).</summary>
    public required string Key { get; init; }
    public required IReadOnlyDictionary<string, VerifiedFile> Files { get; init; }

    /// <summary>One file as it was when its SHA-256 matched the manifest.</summary>
    public sealed record VerifiedFile(long Size, long LastWriteTicks, string Sha256)
    {
        public bool Matches(FileState state, string manifestSha) =>
            state.Size == Size && state.LastWriteTicks == LastWriteTicks && string.Equals(Sha256, manifestSha, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The stamp of the entry in <paramref name="entryDir"/> for <paramref name="key"/>; null when there is none.
    /// <paramref name="problem"/> says why an existing stamp was not usable.</summary>
    public static EngineVerificationStamp? Read(string entryDir, string key, out string? problem)
    {
        problem = null;
        string path = Path.Combine(entryDir, FileName);
        if (!File.Exists(path)) return null;
        var stamp = JsonRecordFile.Read<EngineVerificationStamp>(path, out string? why);
        if (why is not null) { problem = $"{FileName} {why}"; return null; }
        if (stamp?.Files is null) { problem = $"{FileName} is empty"; return null; }
        if (stamp.Key != key) { problem = $"{FileName} belongs to key {stamp.Key}"; return null; }
        return stamp;
    }

    /// <summary>Writes the stamp into <paramref name="entryDir"/> (temporary file, then rename).</summary>
    public void Write(string entryDir) => JsonRecordFile.Write(Path.Combine(entryDir, FileName), this);
}
