using VisualGen.Pipelines;

namespace VisualGen.Server.Hosting;

/// <summary>A pipeline together with the resources it runs on (its engine provider): disposing it disposes both.</summary>
public sealed class OwnedPipeline(IGenerationPipeline pipeline, IDisposable resources) : IGenerationPipeline
{
    public PipelineInfo Info => pipeline.Info;

    public void Validate(GenerationRequest request) => pipeline.Validate(request);

    public GenerationCost? EstimateCost(GenerationRequest request) => pipeline.EstimateCost(request);

    public Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default) => pipeline.GenerateAsync(request, progress, cancellationToken);

    public void Dispose()
    {
        pipeline.Dispose();
        resources.Dispose();
    }
}
