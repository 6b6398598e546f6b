using VisualGen.Checkpoints;
using VisualGen.Exporter.Quantization;

namespace VisualGen.Exporter.Export;

/// <summary>What a component's graph is traced from: the model, the component folder and its weights, and the
/// part to trace (for example "decoder" of a VAE; "" for single-graph components), and how its linears are quantized
/// (null: not quantized).</summary>
public sealed record TraceContext(ModelIndex Model, string ComponentName, string ComponentDirectory, ITensorSource Weights, string Part,
    QuantizedLinears? Quantization = null);

/// <summary>How one component class (model_index's class name, e.g. "WanTransformer3DModel") becomes graphs:
/// the parts it exports and a trace function per part. <see cref="Quantizable"/>: its trace honours
/// <see cref="TraceContext.Quantization"/> (the diffusion transformers).</summary>
public sealed record ComponentExporter(string ClassName, IReadOnlyList<string> Parts, Func<TraceContext, Graph.Graph> Trace)
{
    public bool Quantizable { get; init; }

    /// <summary>Parts traced only when a pipeline asks for them (a step cache's transformer parts), never by
    /// <c>build</c>: null when the class has none.</summary>
    public Func<string, bool>? OnDemandParts { get; init; }

    public bool HasPart(string part) => Parts.Contains(part) || OnDemandParts?.Invoke(part) == true;
}
