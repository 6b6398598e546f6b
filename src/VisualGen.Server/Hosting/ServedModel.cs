using VisualGen.Pipelines;

namespace VisualGen.Server.Hosting;

/// <summary>A loaded pipeline under the id clients name in "model".</summary>
public sealed record ServedModel(string Id, IGenerationPipeline Pipeline, DateTimeOffset LoadedAt)
{
    public PipelineInfo Info => Pipeline.Info;

    /// <summary>How the server's loader set the pipeline up (<see cref="AdmittedPipeline.Engine"/>); null for a pipeline
    /// it did not load (a test's).</summary>
    public Api.EngineSettings? Engine => (Pipeline as AdmittedPipeline)?.Engine;
}
