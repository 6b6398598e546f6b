namespace VisualGen.Pipelines;

/// <summary>A loaded model that generates images or videos.</summary>
public interface IGenerationPipeline : IDisposable
{
    PipelineInfo Info { get; }

    /// <summary>Checks a request without running anything (sizes, frames, steps, guidance, image, latents shape);
    /// throws the <see cref="GenerationException"/> that <see cref="GenerateAsync"/> would. Servers call it before
    /// queueing so a bad request is refused at once.</summary>
    void Validate(GenerationRequest request);

    Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default);
}
