using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;

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
