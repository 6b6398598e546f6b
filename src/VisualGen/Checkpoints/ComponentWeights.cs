namespace VisualGen.Checkpoints;

/// <summary>
/// The weights of one diffusers component folder: a single safetensors file
/// (<c>diffusion_pytorch_model.safetensors</c> / <c>model.safetensors</c>) or shards listed by a
/// <c>*.safetensors.index.json</c> weight map. Every file stays memory-mapped; names are looked up
/// across shards.
/// </summary>
public sealed unsafe class ComponentWeights : ITensorSource
{
    static readonly string[] BaseNames = ["diffusion_pytorch_model", "model"];

    readonly SafeTensorsFile[] _files;
    readonly Dictionary<string, SafeTensorsFile> _byName;

    /// <summary>The component folder.</summary>
    public string Directory { get; }

    /// <summary>The index file for sharded weights; null for a single file.</summary>
    public string? IndexPath { get; }

    /// <summary>The safetensors files, in index order for shards.</summary>
    public IReadOnlyList<SafeTensorsFile> Files => _files;

    ComponentWeights(string directory, string? indexPath, SafeTensorsFile[] files, Dictionary<string, SafeTensorsFile> byName)
    {
        Directory = directory; IndexPath = indexPath; _files = files; _byName = byName;
    }

    /// <summary>Opens the weights of <paramref name="componentDir"/>. <paramref name="variant"/> selects
    /// diffusers' variant files (for example "fp16" → <c>diffusion_pytorch_model.fp16.safetensors</c>).</summary>
    public static ComponentWeights Open(string componentDir, string? variant = null)
    {
        if (!System.IO.Directory.Exists(componentDir))
            throw new CheckpointException(componentDir, "component folder not found");
        string suffix = variant is null ? ".safetensors" : $".{variant}.safetensors";

        foreach (var baseName in BaseNames)
        {
            string index = Path.Combine(componentDir, baseName + suffix + ".index.json");
            if (File.Exists(index)) return OpenSharded(componentDir, index);
            string single = Path.Combine(componentDir, baseName + suffix);
            if (File.Exists(single)) return OpenSingle(componentDir, single);
        }

        var indexes = System.IO.Directory.GetFiles(componentDir, "*" + suffix + ".index.json");
        if (indexes.Length == 1) return OpenSharded(componentDir, indexes[0]);
        var singles = System.IO.Directory.GetFiles(componentDir, "*" + suffix)
            .Where(f => variant is not null || !IsVariantFile(f)).ToArray();
        if (indexes.Length == 0 && singles.Length == 1) return OpenSingle(componentDir, singles[0]);

        var candidates = indexes.Concat(singles).Select(Path.GetFileName).ToArray();
        // only diffusers' variant files ("x.fp16.safetensors"): say so, rather than that there are no weights at all
        var variants = variant is null
            ? System.IO.Directory.GetFiles(componentDir, "*.safetensors*").Where(IsVariantFile).Select(Path.GetFileName).ToArray()
            : [];
        throw new CheckpointException(componentDir, candidates.Length == 0
            ? variants.Length > 0
                ? $"no weights: only variant files ({string.Join(", ", variants.Order(StringComparer.Ordinal))}), and the non-variant diffusion_pytorch_model{suffix} or model{suffix} is what loads; download the checkpoint without a variant (diffusers' variant=None)"
                : $"no weights: expected diffusion_pytorch_model{suffix}, model{suffix} or a {suffix}.index.json with shards"
            : $"ambiguous weights: {string.Join(", ", candidates)} (expected one file or one index)");
    }

    // "x.fp16.safetensors": a diffusers variant, chosen only when asked for.
    static bool IsVariantFile(string path) => Path.GetFileNameWithoutExtension(path).Contains('.');

    static ComponentWeights OpenSingle(string dir, string file)
    {
        var f = SafeTensorsFile.Open(file);
        var byName = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        foreach (var n in f.Names) byName[n] = f;
        return new ComponentWeights(dir, null, [f], byName);
    }

    static ComponentWeights OpenSharded(string dir, string indexPath)
    {
        var weightMap = ReadWeightMap(indexPath);
        var shardNames = weightMap.Values.Distinct(StringComparer.Ordinal).ToList();
        var opened = new List<SafeTensorsFile>();
        try
        {
            foreach (var shard in shardNames)
            {
                string shardPath = Path.Combine(dir, shard);
                if (!File.Exists(shardPath))
                    throw new CheckpointException(indexPath, $"shard '{shard}' named in the weight map is missing ({shardPath})");
                opened.Add(SafeTensorsFile.Open(shardPath));
            }
            var byShardName = shardNames.Zip(opened).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);

            var byName = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
            foreach (var (shardName, file) in byShardName)
                foreach (var n in file.Names)
                {
                    if (byName.TryGetValue(n, out var other))
                        throw new CheckpointException(indexPath, $"tensor '{n}' is in two shards: '{Path.GetFileName(other.Path)}' and '{shardName}'");
                    if (!weightMap.TryGetValue(n, out var listed))
                        throw new CheckpointException(indexPath, $"tensor '{n}' of shard '{shardName}' is not in the weight map");
                    if (listed != shardName)
                        throw new CheckpointException(indexPath, $"tensor '{n}' is mapped to shard '{listed}' but found in '{shardName}'");
                    byName[n] = file;
                }
            foreach (var (n, shard) in weightMap)
                if (!byName.ContainsKey(n))
                    throw new CheckpointException(indexPath, $"tensor '{n}' is mapped to shard '{shard}', which does not contain it");
            return new ComponentWeights(dir, indexPath, [.. opened], byName);
        }
        catch
        {
            foreach (var f in opened) f.Dispose();
            throw;
        }
    }

    static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        var map = ComponentConfig.FromFile(indexPath).GetOptionalObject("weight_map")
            ?? throw new CheckpointException(indexPath, "missing object 'weight_map' (tensor name → shard file)");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in map.Keys)
        {
            string shard = map.GetString(name);
            if (shard.Length == 0 || shard != Path.GetFileName(shard) || shard is "." or "..")
                throw new CheckpointException(indexPath, $"weight_map['{name}']: shard '{shard}' must be a file name inside the component folder");
            result[name] = shard;
        }
        if (result.Count == 0) throw new CheckpointException(indexPath, "weight_map is empty");
        return result;
    }

    SafeTensorsFile FileOf(string name) =>
        _byName.TryGetValue(name, out var f) ? f
            : throw new CheckpointException(IndexPath ?? _files[0].Path, $"no tensor named '{name}'");

    /// <summary>The safetensors file that holds <paramref name="name"/>.</summary>
    public string FileOfTensor(string name) => FileOf(name).Path;

    public IEnumerable<string> Names => _byName.Keys;

    public bool Contains(string name) => _byName.ContainsKey(name);

    public TensorInfo Info(string name) => FileOf(name).Info(name);

    public ReadOnlySpan<byte> GetBytes(string name) => FileOf(name).GetBytes(name);

    /// <summary>A pointer to a tensor's bytes, valid while this object is open; for tensors over 2 GB.</summary>
    public byte* GetPointer(string name) => FileOf(name).GetPointer(name);

    public float[] ReadFloat32(string name) => FileOf(name).ReadFloat32(name);

    public bool TryLocate(string name, out TensorLocation location)
    {
        if (_byName.TryGetValue(name, out var f)) return f.TryLocate(name, out location);
        location = default;
        return false;
    }

    public long[] ReadInt64(string name) => FileOf(name).ReadInt64(name);

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
