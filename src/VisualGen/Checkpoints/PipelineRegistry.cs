using VisualGen.Engines;
using VisualGen.Pipelines;

namespace VisualGen.Checkpoints;

/// <summary>
/// Pipelines by model_index.json <c>_class_name</c> ("WanPipeline", "FluxPipeline"...). Families register
/// themselves; <see cref="Detect"/> reads a model folder (or a monolithic safetensors file, through the
/// registered <see cref="ModelFileDetector"/>s) and returns the matching entry.
/// </summary>
public sealed class PipelineRegistry
{
    readonly Dictionary<string, PipelineDescriptor> _byClass = new(StringComparer.Ordinal);
    readonly List<ModelFileDetector> _fileDetectors = [];

    public IReadOnlyDictionary<string, PipelineDescriptor> Entries => _byClass;

    public PipelineRegistry Register(string className, PipelineDescriptor descriptor)
    {
        ArgumentException.ThrowIfNullOrEmpty(className);
        ArgumentNullException.ThrowIfNull(descriptor);
        if (!_byClass.TryAdd(className, descriptor))
            throw new ArgumentException($"pipeline class '{className}' is already registered (family {_byClass[className].Family})", nameof(className));
        return this;
    }

    /// <summary>Adds a detector for monolithic safetensors files; the class name it returns must be registered.</summary>
    public PipelineRegistry RegisterFileDetector(ModelFileDetector detector)
    {
        ArgumentNullException.ThrowIfNull(detector);
        _fileDetectors.Add(detector);
        return this;
    }

    /// <summary>Detects the pipeline of a diffusers model folder or of a monolithic safetensors file.</summary>
    public DetectedModel Detect(string modelPath)
    {
        if (File.Exists(modelPath)) return DetectFile(modelPath);
        var index = ModelIndex.Load(modelPath);
        return new DetectedModel(modelPath, index.ClassName, Lookup(index.FilePath, index.ClassName), index, null);
    }

    /// <summary>Detects and creates the pipeline.</summary>
    public IGenerationPipeline Create(string modelPath, IEngineProvider engines) => Detect(modelPath).CreatePipeline(engines);

    DetectedModel DetectFile(string path)
    {
        if (!path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            throw new CheckpointException(path, "expected a diffusers model folder or a .safetensors file");
        IReadOnlyDictionary<string, string> metadata;
        using (var file = SafeTensorsFile.Open(path)) metadata = file.Metadata;
        var names = _fileDetectors.Select(d => d(path, metadata)).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        if (names.Count == 0)
            throw new CheckpointException(path, $"no registered detector recognises this safetensors file ({Pipelines.Ltx2.SingleFile.Ltx2FileMetadata.Found(metadata)}); known pipeline classes: {KnownText}");
        if (names.Count > 1)
            throw new CheckpointException(path, $"ambiguous model file: detectors matched {string.Join(", ", names)}");
        var descriptor = Lookup(path, names[0]);
        // a format VisualGen reads (SingleFileModels) becomes a model index here, so its pipeline loads like a folder's
        var index = SingleFileModels.Formats.Any(f => f.Recognises(metadata)) ? ModelIndex.Load(path) : null;
        return new DetectedModel(path, names[0], descriptor, index, metadata);
    }

    PipelineDescriptor Lookup(string path, string className) =>
        _byClass.TryGetValue(className, out var d) ? d
            : throw new CheckpointException(path, $"unsupported pipeline class '{className}'; known pipeline classes: {KnownText}");

    string KnownText => _byClass.Count == 0 ? "none registered" : string.Join(", ", _byClass.Keys.Order(StringComparer.Ordinal));
}
