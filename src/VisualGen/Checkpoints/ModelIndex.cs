using System.Text.Json;

namespace VisualGen.Checkpoints;

/// <summary>One component entry of model_index.json: <c>"vae": ["diffusers", "AutoencoderKLWan"]</c>.
/// <c>[null, null]</c> marks a component the pipeline accepts but this checkpoint does not ship.</summary>
public sealed record ModelComponent(string Name, string? Library, string? ClassName)
{
    public bool IsPresent => ClassName is not null;
}

/// <summary>
/// A diffusers model folder's <c>model_index.json</c>: the pipeline class, its components and the
/// pipeline's other settings (<c>boundary_ratio</c>, <c>expand_timesteps</c>...) in <see cref="Fields"/>.
/// A monolithic safetensors file (LTX-2) is read into the same shape by <see cref="SingleFileModels"/>: its
/// components inside the file are <see cref="FileComponent"/>s (config from the header's metadata, weights a renaming
/// view of the file); the others (text encoder, tokenizer) are folders beside the file.
/// </summary>
public sealed class ModelIndex
{
    public const string FileName = "model_index.json";

    readonly IReadOnlyDictionary<string, FileComponent> _inFile;

    /// <summary>The model folder (for a monolithic file: the folder holding it).</summary>
    public string Directory { get; }

    /// <summary>The model_index.json path (for a monolithic file: the file).</summary>
    public string FilePath { get; }

    /// <summary>True when the model is one monolithic safetensors file.</summary>
    public bool IsSingleFile => _inFile.Count > 0;

    /// <summary>SHA-256 (hex) of what describes the model: model_index.json, or a monolithic file's header metadata
    /// (never the whole file).</summary>
    public string DescriptionSha256 { get; }

    /// <summary><c>_class_name</c>, for example "WanPipeline".</summary>
    public string ClassName { get; }

    /// <summary>Every component entry by name, present or absent (null entries).</summary>
    public IReadOnlyDictionary<string, ModelComponent> Components { get; }

    /// <summary>The whole file with typed getters: <c>Fields.GetOptionalDouble("boundary_ratio")</c>.</summary>
    public ComponentConfig Fields { get; }

    ModelIndex(string directory, string filePath, string className, IReadOnlyDictionary<string, ModelComponent> components, ComponentConfig fields,
        IReadOnlyDictionary<string, FileComponent> inFile, string descriptionSha256)
    {
        Directory = directory; FilePath = filePath; ClassName = className; Components = components; Fields = fields;
        _inFile = inFile; DescriptionSha256 = descriptionSha256;
    }

    /// <summary>A model stored as one monolithic safetensors file: <paramref name="inFile"/> are the components inside
    /// it; the other present <paramref name="components"/> are folders in <paramref name="directory"/>.</summary>
    public static ModelIndex ForSingleFile(string filePath, string directory, string className, IReadOnlyDictionary<string, ModelComponent> components,
        ComponentConfig fields, IReadOnlyDictionary<string, FileComponent> inFile, string descriptionSha256)
    {
        if (inFile.Count == 0) throw new ArgumentException("a single-file model has at least one component in the file", nameof(inFile));
        foreach (var name in inFile.Keys)
            if (!components.ContainsKey(name)) throw new ArgumentException($"component '{name}' is in the file but not listed", nameof(inFile));
        return new ModelIndex(directory, filePath, className, components, fields, inFile, descriptionSha256);
    }

    /// <summary>Where a folder without model_index.json is one component of a model (its config.json or
    /// scheduler_config.json names a class), says so, and names the model folder when the parent is one.</summary>
    static string ComponentFolderHint(string folder)
    {
        string? config = new[] { "config.json", "scheduler_config.json" }.Select(f => Path.Combine(folder, f)).FirstOrDefault(File.Exists);
        if (config is null) return "";
        string? className;
        try { className = ComponentConfig.FromFile(config).ClassName; }
        catch (CheckpointException) { return ""; }   // an unreadable config gives no hint; the error stands as it is
        if (className is null) return "";
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        string? parent = Path.GetDirectoryName(full);
        return parent is not null && File.Exists(Path.Combine(parent, FileName))
            ? $"; it is the '{Path.GetFileName(full)}' component ({className}) of the model in {parent}: pass that folder"
            : $"; it looks like one component of a diffusers model ({className} in {Path.GetFileName(config)}): pass the model's folder, the one with model_index.json";
    }

    /// <summary>Reads a diffusers model folder, or a monolithic safetensors file that <see cref="SingleFileModels"/> knows.</summary>
    public static ModelIndex Load(string modelDir)
    {
        if (File.Exists(modelDir)) return SingleFileModels.Open(modelDir);
        if (!System.IO.Directory.Exists(modelDir)) throw new CheckpointException(modelDir, "model folder not found");
        string path = Path.Combine(modelDir, FileName);
        if (!File.Exists(path))
            throw new CheckpointException(path, "model_index.json not found: not a diffusers model folder" + ComponentFolderHint(modelDir) + SingleFileModels.HintFor(modelDir));
        var fields = ComponentConfig.FromFile(path);
        string className = fields.GetString("_class_name");

        var components = new Dictionary<string, ModelComponent>(StringComparer.Ordinal);
        foreach (var p in fields.Root.EnumerateObject())
        {
            if (p.Name.StartsWith('_') || !IsComponentEntry(p.Value)) continue;
            string? library = p.Value[0].ValueKind == JsonValueKind.String ? p.Value[0].GetString() : null;
            string? cls = p.Value[1].ValueKind == JsonValueKind.String ? p.Value[1].GetString() : null;
            if (cls is null && library is not null)
                throw new CheckpointException(path, $"component '{p.Name}': library '{library}' without a class name (expected [library, class] or [null, null])");
            components[p.Name] = new ModelComponent(p.Name, library, cls);
        }
        return new ModelIndex(modelDir, path, className, components, fields, new Dictionary<string, FileComponent>(), Sha256Of(path));
    }

    // A component is a two-element array of strings or nulls; anything else is a pipeline setting.
    static bool IsComponentEntry(JsonElement e) =>
        e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 2
        && e.EnumerateArray().All(x => x.ValueKind is JsonValueKind.String or JsonValueKind.Null);

    /// <summary>True when the component is listed and not null.</summary>
    public bool HasComponent(string name) => Components.TryGetValue(name, out var c) && c.IsPresent;

    static string Sha256Of(string path) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>The component stored inside the monolithic file, or null for a folder component.</summary>
    public FileComponent? InFile(string name) => _inFile.GetValueOrDefault(name);

    /// <summary>Where a component lives, for messages: its folder, or the monolithic file.</summary>
    public string ComponentPath(string name) => _inFile.ContainsKey(name) ? FilePath : Path.Combine(Directory, name);

    /// <summary>The folder of a present component; throws naming the problem when it is unlisted, null or missing, or
    /// stored inside a monolithic file (read those with <see cref="LoadConfig"/> and <see cref="OpenTensors"/>).</summary>
    public string ComponentDirectory(string name)
    {
        if (!Components.TryGetValue(name, out var c))
            throw new CheckpointException(FilePath, $"no component '{name}' (components: {string.Join(", ", Components.Keys)})");
        if (!c.IsPresent)
            throw new CheckpointException(FilePath, $"component '{name}' is absent in this checkpoint ([null, null])");
        if (_inFile.ContainsKey(name))
            throw new CheckpointException(FilePath, $"component '{name}' is stored inside this monolithic file, not in a folder");
        string dir = Path.Combine(Directory, name);
        if (!System.IO.Directory.Exists(dir))
            throw new CheckpointException(dir, $"component folder not found (model_index.json lists '{name}' as {c.Library}.{c.ClassName})");
        return dir;
    }

    /// <summary>The component's config.json / scheduler_config.json (for a component inside a monolithic file: the
    /// config mapped from the file's metadata).</summary>
    public ComponentConfig LoadConfig(string component) =>
        _inFile.TryGetValue(component, out var f) ? f.Config : ComponentConfig.Load(ComponentDirectory(component));

    /// <summary>The component's weights under diffusers' names, whichever way the model is stored (dispose when done).</summary>
    public ITensorSource OpenTensors(string component) =>
        _inFile.TryGetValue(component, out var f) ? f.OpenWeights() : ComponentWeights.Open(ComponentDirectory(component));

    /// <summary>The component's weights (memory-mapped; dispose when done).</summary>
    public ComponentWeights OpenWeights(string component, string? variant = null) => ComponentWeights.Open(ComponentDirectory(component), variant);
}
