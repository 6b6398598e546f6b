namespace VisualGen.Pipelines;

/// <summary>A loaded model that generates images or videos.</summary>
public interface IGenerationPipeline : IDisposable
{
    PipelineInfo Info { get; }

    Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default);
}
