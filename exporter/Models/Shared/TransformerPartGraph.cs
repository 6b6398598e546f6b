using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Models.Shared;

/// <summary>The common end of tracing a transformer part for step caches (<c>TracePart</c> of each DiT): the
/// weights the part does not use dropped, and the metadata every part graph carries.</summary>
public static class TransformerPartGraph
{
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
