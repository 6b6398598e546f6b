using VisualGen.Exporter.Export;
using VisualGen.Pipelines;

namespace VisualGen.Server.Hosting;

/// <summary>A pipeline together with the engine provider it runs on: disposing it disposes both. A generation whose
/// engine export or build the provider's <see cref="EngineProvider.Cancellation"/> stopped (the server's shutdown,
/// <see cref="EngineBuilds"/>) ends with an <see cref="EngineBuildStoppedException"/>, not a bare cancellation its
/// caller never asked for.</summary>
public sealed class OwnedPipeline(IGenerationPipeline pipeline, EngineProvider engines) : IGenerationPipeline
{
    public PipelineInfo Info => pipeline.Info;

    public void Validate(GenerationRequest request) => pipeline.Validate(request);

    public GenerationCost? EstimateCost(GenerationRequest request) => pipeline.EstimateCost(request);

    public async Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        try
        {
            return await pipeline.GenerateAsync(request, progress, cancellationToken);
        }
        catch (OperationCanceledException e) when (engines.Cancellation.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new EngineBuildStoppedException(e);
        }
    }

    public void Dispose()
    {
        pipeline.Dispose();
        engines.Dispose();
    }
}
