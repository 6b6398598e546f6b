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
/// </summary>
public sealed class ModelIndex
{
    public const string FileName = "model_index.json";

    /// <summary>The model folder.</summary>
    public string Directory { get; }

    /// <summary>The model_index.json path.</summary>
    public string FilePath { get; }

    /// <summary><c>_class_name</c>, for example "WanPipeline".</summary>
    public string ClassName { get; }

    /// <summary>Every component entry by name, present or absent (null entries).</summary>
    public IReadOnlyDictionary<string, ModelComponent> Components { get; }

    /// <summary>The whole file with typed getters: <c>Fields.GetOptionalDouble("boundary_ratio")</c>.</summary>
    public ComponentConfig Fields { get; }

    ModelIndex(string directory, string filePath, string className, IReadOnlyDictionary<string, ModelComponent> components, ComponentConfig fields)
    {
        Directory = directory; FilePath = filePath; ClassName = className; Components = components; Fields = fields;
    }

    public static ModelIndex Load(string modelDir)
    {
        if (!System.IO.Directory.Exists(modelDir)) throw new CheckpointException(modelDir, "model folder not found");
        string path = Path.Combine(modelDir, FileName);
        if (!File.Exists(path)) throw new CheckpointException(path, "model_index.json not found: not a diffusers model folder");
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
        return new ModelIndex(modelDir, path, className, components, fields);
    }

    // A component is a two-element array of strings or nulls; anything else is a pipeline setting.
    static bool IsComponentEntry(JsonElement e) =>
        e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 2
        && e.EnumerateArray().All(x => x.ValueKind is JsonValueKind.String or JsonValueKind.Null);

    /// <summary>True when the component is listed and not null.</summary>
    public bool HasComponent(string name) => Components.TryGetValue(name, out var c) && c.IsPresent;

    /// <summary>The folder of a present component; throws naming the problem when it is unlisted, null or missing.</summary>
    public string ComponentDirectory(string name)
    {
        if (!Components.TryGetValue(name, out var c))
            throw new CheckpointException(FilePath, $"no component '{name}' (components: {string.Join(", ", Components.Keys)})");
        if (!c.IsPresent)
            throw new CheckpointException(FilePath, $"component '{name}' is absent in this checkpoint ([null, null])");
        string dir = Path.Combine(Directory, name);
        if (!System.IO.Directory.Exists(dir))
            throw new CheckpointException(dir, $"component folder not found (model_index.json lists '{name}' as {c.Library}.{c.ClassName})");
        return dir;
    }

    /// <summary>The component's config.json / scheduler_config.json.</summary>
    public ComponentConfig LoadConfig(string component) => ComponentConfig.Load(ComponentDirectory(component));

    /// <summary>The component's weights (memory-mapped; dispose when done).</summary>
    public ComponentWeights OpenWeights(string component, string? variant = null) => ComponentWeights.Open(ComponentDirectory(component), variant);
}
