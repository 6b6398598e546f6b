using System.Text.Json;
using VisualGen.Checkpoints;

namespace VisualGen.Engines.Cuda.Model;

/// <summary>
/// The engine files of a cache entry: <c>plan.json</c> (fused op list, inputs/outputs, constant table, tuned GEMM
/// algorithms, referenced checkpoint files) and <c>weights.bin</c> (the bytes of constants that are not a checkpoint
/// tensor as it is stored: converted or re-laid-out weights, small tables, quantized weights; those it appends are
/// 256-byte aligned, those of an export's data file it took over keep their offsets). A constant that is a
/// checkpoint tensor's stored bytes (a bf16 nn.Linear weight [out, in] is already the packed bf16 [N,K]) is by default
/// a reference into the checkpoint's safetensors file (path, offset, length), recorded with the file's size and write
/// time: a load whose referenced file is gone or changed fails naming it. With <c>embed</c> every constant's bytes go
/// to weights.bin (caches shipped without checkpoints).
/// </summary>
public static class PlanFile
{
    public const string PlanName = "plan.json";
    public const string WeightsName = "weights.bin";
    public const int FormatVersion = 3;

    sealed record NodeDto(string Op, string Name, string?[] Inputs, string[] Outputs, Dictionary<string, OpAttr> Attrs);
    /// <summary>A constant: in weights.bin at Offset (File null), or in <see cref="PlanDto.Files"/>[File] at Offset.</summary>
    sealed record ConstDto(string Name, string DType, long[] Shape, long Offset, long Length, int? File = null);
    sealed record PortDto(string Name, string DType, string[] Dims, bool PlanTime = false);
    /// <summary>A checkpoint file constants reference: full path, and its size and last write time (UTC ticks) at build.</summary>
    sealed record FileDto(string Path, long Size, long LastWriteTicks);
    sealed record PlanDto(int Format, List<NodeDto> Nodes, List<ConstDto> Constants, List<PortDto> Inputs, List<PortDto> Outputs,
        Dictionary<string, string> GemmAlgorithms, List<FileDto>? Files = null);

    static readonly JsonSerializerOptions Json = new() { WriteIndented = false, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    /// <summary>What <see cref="Write"/> wrote: bytes copied into weights.bin, bytes referenced in checkpoint files, and bytes
    /// of the graph's own external data taken as weights.bin without a copy (<see cref="Write"/>'s <c>ownedDirectory</c>).</summary>
    public readonly record struct WriteResult(long EmbeddedBytes, long ReferencedBytes, int ReferencedFiles, long AdoptedBytes = 0, long AdoptedUnusedBytes = 0);

    /// <summary>
    /// Writes the graph and its constants; checkpoint tensors are referenced unless <paramref name="embed"/>.
    /// <paramref name="ownedDirectory"/>: a folder of external data written for this build alone (the exporter's staging,
    /// which is deleted after the build). The file there that holds most of the constants' bytes becomes weights.bin: it is
    /// moved into <paramref name="dir"/>, its constants keep their offsets, and the others are appended after it. A 12 GB
    /// FP8 transformer is then written once, not written by the export and copied again. This is not done when less than
    /// half the file would be used (constants the fusions replaced would sit in the entry for nothing).
    /// </summary>
    public static WriteResult Write(OpGraph g, string dir, IReadOnlyDictionary<string, byte[]> algorithms, bool embed = false,
        string? ownedDirectory = null)
    {
        var consts = new List<ConstDto>();
        var files = new List<FileDto>();
        var fileIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var ordered = g.Constants.Values.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
        bool Referenced(ConstTensor c) =>
            !embed && c.Referenceable is { } r && r.Length == c.Count * c.DType.SizeOf() && File.Exists(r.Path);
        var (adopted, adoptedLength) = AdoptableFile(ordered.Where(c => !Referenced(c)), ownedDirectory);
        string weightsPath = Path.Combine(dir, WeightsName);
        long at = adoptedLength, referenced = 0, adoptedBytes = 0;
        using (var fs = adopted is null
                   ? new FileStream(weightsPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 22)
                   : new FileStream(adopted, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 1 << 22))
        {
            void Align()
            {
                long pad = (256 - at % 256) % 256;
                if (pad > 0) { fs.Write(new byte[pad]); at += pad; }
            }
            Align();
            foreach (var c in ordered)
            {
                if (Referenced(c))
                {
                    var r = c.Referenceable!;
                    if (!fileIndex.TryGetValue(r.Path, out int fi))
                    {
                        var state = FileState.Of(r.Path);
                        fileIndex[r.Path] = fi = files.Count;
                        files.Add(new FileDto(r.Path, state.Size, state.LastWriteTicks));
                    }
                    if (r.Offset + r.Length > files[fi].Size)
                        throw new EngineException($"constant '{c.Name}': bytes {r.Offset}..{r.Offset + r.Length} run past the end of '{r.Path}' ({files[fi].Size} bytes)");
                    consts.Add(new ConstDto(c.Name, c.DType.ToString(), c.Shape, r.Offset, r.Length, fi));
                    referenced += r.Length;
                    continue;
                }
                if (adopted is not null && InFile(c, adopted, adoptedLength))
                {
                    consts.Add(new ConstDto(c.Name, c.DType.ToString(), c.Shape, c.Stored!.Offset, c.Stored.Length));
                    adoptedBytes += c.Stored.Length;
                    continue;
                }
                long length = 0;
                c.WithBytes(b => { fs.Write(b); length = b.Length; });
                consts.Add(new ConstDto(c.Name, c.DType.ToString(), c.Shape, at, length));
                at += length;
                Align();
                c.Release();
            }
        }
        if (adopted is not null) File.Move(adopted, weightsPath);
        var dto = new PlanDto(FormatVersion,
            g.Nodes.Select(n => new NodeDto(n.Op, n.Name, n.Inputs.ToArray(), n.Outputs.ToArray(), n.Attrs)).ToList(), consts,
            g.Inputs.Select(p => new PortDto(p.Name, p.DType.ToString(), p.Dims, p.PlanTime)).ToList(),
            g.Outputs.Select(p => new PortDto(p.Name, p.DType.ToString(), p.Dims)).ToList(),
            algorithms.ToDictionary(kv => kv.Key, kv => Convert.ToHexString(kv.Value)),
            files.Count > 0 ? files : null);
        File.WriteAllText(Path.Combine(dir, PlanName), JsonSerializer.Serialize(dto, Json));
        return new WriteResult(at - adoptedLength, referenced, files.Count, adoptedBytes, adopted is null ? 0 : adoptedLength - adoptedBytes);
    }

    /// <summary>The file under <paramref name="ownedDirectory"/> holding most of <paramref name="constants"/>' stored bytes,
    /// with its length, when they are at least half of it; else (null, 0).</summary>
    static (string? Path, long Length) AdoptableFile(IEnumerable<ConstTensor> constants, string? ownedDirectory)
    {
        if (ownedDirectory is null) return (null, 0);
        string owned = Path.GetFullPath(ownedDirectory).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        var best = constants.Where(c => c.Stored is { } s && Path.GetFullPath(s.Path).StartsWith(owned, StringComparison.Ordinal))
            .GroupBy(c => Path.GetFullPath(c.Stored!.Path), StringComparer.Ordinal)
            .Where(f => File.Exists(f.Key))
            .Select(f =>
            {
                long length = new FileInfo(f.Key).Length;
                return (Path: f.Key, Length: length, Used: f.Where(c => InFile(c, f.Key, length)).Sum(c => c.Stored!.Length));
            })
            .OrderByDescending(f => f.Used).FirstOrDefault();
        return best.Path is not null && best.Used * 2 >= best.Length ? (best.Path, best.Length) : (null, 0);
    }

    static bool InFile(ConstTensor c, string fullPath, long fileLength) =>
        c.Stored is { } s && s.Length == c.Count * c.DType.SizeOf() && s.Offset >= 0 && s.Offset + s.Length <= fileLength
        && string.Equals(Path.GetFullPath(s.Path), fullPath, StringComparison.Ordinal);

    /// <summary>Reads a plan; constants read their bytes on demand through memory maps of weights.bin and the referenced
    /// checkpoint files, which are checked first: each must exist with the size and write time it had at build.</summary>
    public static (OpGraph Graph, Dictionary<string, byte[]> Algorithms) Read(string dir)
    {
        string planPath = Path.Combine(dir, PlanName), weights = Path.Combine(dir, WeightsName);
        if (!File.Exists(planPath)) throw new EngineException($"engine file '{planPath}' is missing");
        var dto = JsonSerializer.Deserialize<PlanDto>(File.ReadAllText(planPath), Json) ?? throw new EngineException($"'{planPath}' is empty");
        if (dto.Format != FormatVersion) throw new EngineException($"'{planPath}' has plan format {dto.Format}; this engine reads {FormatVersion} (rebuild the entry)");
        var files = dto.Files ?? [];
        foreach (var f in files) CheckReferenced(dir, f);
        var g = new OpGraph();
        foreach (var n in dto.Nodes) g.Nodes.Add(new OpNode(n.Op, n.Name, n.Inputs, n.Outputs, n.Attrs));
        foreach (var c in dto.Constants)
        {
            if (c.File is int fi && (fi < 0 || fi >= files.Count)) throw new EngineException($"'{planPath}': constant '{c.Name}' names file {fi}; the plan lists {files.Count}");
            var range = new FileRange(c.File is int i ? files[i].Path : weights, c.Offset, c.Length);
            g.Constants[c.Name] = new ConstTensor(c.Name, Enum.Parse<TensorDType>(c.DType), c.Shape, range.ReadAll) { Stored = range };
        }
        foreach (var p in dto.Inputs) g.Inputs.Add(new OpPort(p.Name, Enum.Parse<TensorDType>(p.DType), p.Dims, p.PlanTime));
        foreach (var p in dto.Outputs) g.Outputs.Add(new OpPort(p.Name, Enum.Parse<TensorDType>(p.DType), p.Dims));
        return (g, dto.GemmAlgorithms.ToDictionary(kv => kv.Key, kv => Convert.FromHexString(kv.Value)));
    }

    /// <summary>The checkpoint files a plan references (full paths), for reports.</summary>
    public static IReadOnlyList<string> ReferencedFiles(string dir)
    {
        var dto = JsonSerializer.Deserialize<PlanDto>(File.ReadAllText(Path.Combine(dir, PlanName)), Json);
        return dto?.Files?.Select(f => f.Path).ToList() ?? [];
    }

    /// <summary>Null when every checkpoint file the plan in <paramref name="dir"/> references is as it was at build (or the
    /// plan cannot be read: loading says why); else what is wrong, naming the file.</summary>
    public static string? ReferenceProblem(string dir)
    {
        PlanDto? dto;
        try { dto = JsonSerializer.Deserialize<PlanDto>(File.ReadAllText(Path.Combine(dir, PlanName)), Json); }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { return null; }
        foreach (var f in dto?.Files ?? [])
            try { CheckReferenced(dir, f); }
            catch (EngineException e) { return e.Message; }
        return null;
    }

    static void CheckReferenced(string dir, FileDto f)
    {
        const string fix = "rebuild the entry (delete it; a build with --embed-weights makes an entry that needs no checkpoint)";
        if (!File.Exists(f.Path))
            throw new EngineException($"engine entry '{dir}' references weights in '{f.Path}', which is missing: {fix}");
        var now = FileState.Of(f.Path);
        if (now.Size != f.Size || now.LastWriteTicks != f.LastWriteTicks)
            throw new EngineException($"engine entry '{dir}' references weights in '{f.Path}', which changed since the entry was built " +
                $"(size {f.Size} → {now.Size}, written {new DateTime(f.LastWriteTicks, DateTimeKind.Utc):u} → {new DateTime(now.LastWriteTicks, DateTimeKind.Utc):u}): {fix}");
    }
}
