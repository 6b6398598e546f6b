using VisualGen.Engines;
using VisualGen.Pipelines;

namespace VisualGen.Checkpoints;

/// <summary>Creates a family's pipeline for a detected model, getting its engines from <paramref name="engines"/>.</summary>
public delegate IGenerationPipeline PipelineFactory(DetectedModel model, IEngineProvider engines);

/// <summary>A registered pipeline class: its family (for example "wan21", "flux1") and how to create it.</summary>
public sealed record PipelineDescriptor(string Family, PipelineFactory Create);

/// <summary>
/// What <see cref="PipelineRegistry.Detect"/> found: a diffusers folder (with its <see cref="Index"/>) or a
/// monolithic safetensors file (with its header <see cref="FileMetadata"/>), and the descriptor registered for its class.
/// </summary>
public sealed record DetectedModel(string Path, string ClassName, PipelineDescriptor Descriptor, ModelIndex? Index,
    IReadOnlyDictionary<string, string>? FileMetadata)
{
    public string Family => Descriptor.Family;

    /// <summary>The model_index.json of a folder model; throws for a monolithic file.</summary>
    public ModelIndex RequireIndex() => Index ?? throw new CheckpointException(Path,
        $"{ClassName} was detected from a single safetensors file; this pipeline needs a diffusers folder with model_index.json");

    public IGenerationPipeline CreatePipeline(IEngineProvider engines) => Descriptor.Create(this, engines);
}

/// <summary>Recognises a monolithic safetensors file (LTX-2 style) from its <c>__metadata__</c>; returns the
/// pipeline class name it registers under, or null when the file is not its model.</summary>
public delegate string? ModelFileDetector(string filePath, IReadOnlyDictionary<string, string> metadata);
