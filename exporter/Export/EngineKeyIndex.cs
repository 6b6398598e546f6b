using VisualGen.Engines;

namespace VisualGen.Exporter.Export;

/// <summary>
/// The engine cache's key index: <c>&lt;cache&gt;/.keys/&lt;source key&gt;.json</c>, one small file per
/// <see cref="EngineSourceKey"/> naming the graph hash (and so the cache key) that source traced to, so a cache hit
/// needs no trace. One file per source key, written to a temporary file and renamed, so concurrent processes never
/// lose each other's records or read half a record; writers of one source key write the same record. A record that
/// is missing, unreadable or inconsistent is reported and the caller traces (the record is then rewritten).
/// </summary>
public sealed class EngineKeyIndex(string cacheRoot)
{
    public const string FolderName = ".keys";
    const string Schema = "visualgen-key-index/1";

    public string Directory { get; } = Path.Combine(cacheRoot, FolderName);

    /// <summary>What one source key traced to.</summary>
    public sealed record Record
    {
        public string Schema { get; init; } = EngineKeyIndex.Schema;
        public required string SourceKey { get; init; }
        public required string Component { get; init; }
        /// <summary>The cache key the trace gave (checked against <see cref="GraphHash"/> and the source's target).</summary>
        public required string Key { get; init; }
        public required string GraphHash { get; init; }
        public required int Nodes { get; init; }
        public required long InitializerBytes { get; init; }
    }

    public string PathOf(string sourceKey) => Path.Combine(Directory, sourceKey + ".json");

    /// <summary>The record of <paramref name="source"/>, with its key parts; null with <paramref name="problem"/> saying why not.</summary>
    public Record? Read(EngineSourceKey source, string sourceKey, out EngineKeyParts? parts, out string problem)
    {
        parts = null;
        string path = PathOf(sourceKey);
        if (!File.Exists(path)) { problem = $"no record for {source.Component}"; return null; }
        var record = JsonRecordFile.Read<Record>(path, out string? why);
        if (why is not null) { problem = $"record {path} {why}"; return null; }
        if (record is null || record.Schema != Schema || record.SourceKey != sourceKey || record.Component != source.Component
            || string.IsNullOrEmpty(record.GraphHash))
        {
            problem = $"record {path} does not describe {source.Component} under this source key";
            return null;
        }
        parts = source.Target with { GraphHash = record.GraphHash };
        if (EngineCacheKey.Compute(parts) != record.Key)
        {
            problem = $"record {path} names key {record.Key}, which its graph hash does not give";
            parts = null;
            return null;
        }
        problem = "";
        return record;
    }

    /// <summary>Records what <paramref name="record"/>'s source key traced to (temporary file, then rename).</summary>
    public void Write(Record record) => JsonRecordFile.Write(PathOf(record.SourceKey), record);
}
