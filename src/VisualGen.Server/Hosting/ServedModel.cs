using VisualGen.Pipelines;

namespace VisualGen.Server.Hosting;

/// <summary>A loaded pipeline under the id clients name in "model".</summary>
public sealed record ServedModel(string Id, IGenerationPipeline Pipeline, DateTimeOffset LoadedAt)
{
    public PipelineInfo Info => Pipeline.Info;
}
