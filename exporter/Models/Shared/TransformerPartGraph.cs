using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Exporter.Quantization;

namespace VisualGen.Exporter.Models.Shared;

/// <summary>What tracing a transformer part for step caches (<c>TracePart</c> of each DiT) has in common: the block
/// range checked against the transformer's blocks, and at the end the weights the part does not use dropped and the
/// metadata every part graph carries.</summary>
public static class TransformerPartGraph
{
    /// <summary>Refuses a blocks part reaching past the transformer's <paramref name="blocks"/> blocks;
    /// <paramref name="counted"/> names the config keys that count them.</summary>
    public static void CheckBlocks(string componentDir, string part, int to, int blocks, string counted)
    {
        if (to > blocks)
            throw new CheckpointException(componentDir, $"transformer part {part}: the transformer has {blocks} blocks ({counted})");
    }

    /// <summary>A part's weights, its linears quantized as the whole graph's are under <paramref name="quantization"/>
    /// (so the parts compose to the quantized transformer), except in the time embedding, which only TeaCache compares
    /// and which stays unquantized. <paramref name="part"/> is the <see cref="VisualGen.Pipelines.Caching.TransformerParts"/> name.</summary>
    public static Weights Weights(Tracer tracer, ITensorSource weights, string componentDir, string part, QuantizedLinears? quantization) =>
        new(tracer, weights, componentDir, part == VisualGen.Pipelines.Caching.TransformerParts.TimeEmbedding ? null : quantization);

    public static Graph.Graph Seal(Tracer tracer, string className, string part, bool? guidanceEmbeds = null)
    {
        tracer.Graph.RemoveUnused();
        tracer.Graph.Metadata["visualgen.class"] = className;
        tracer.Graph.Metadata["visualgen.part"] = part;
        if (guidanceEmbeds is bool g) tracer.Graph.Metadata["visualgen.guidance_embeds"] = g ? "true" : "false";
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }
}
