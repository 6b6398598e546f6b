namespace VisualGen.Pipelines;

/// <summary>A loaded model that generates images or videos.</summary>
public interface IGenerationPipeline : IDisposable
{
    PipelineInfo Info { get; }

    /// <summary>Checks a request without running anything (sizes, frames, steps, guidance, image, latents shape);
    /// throws the <see cref="GenerationException"/> that <see cref="GenerateAsync"/> would. Servers call it before
    /// queueing so a bad request is refused at once.</summary>
    void Validate(GenerationRequest request);

    /// <summary>The working memory a valid request needs (see <see cref="GenerationCost"/>); null when the pipeline
    /// cannot tell. Servers refuse what can never fit before it takes a queue slot.</summary>
    GenerationCost? EstimateCost(GenerationRequest request) => null;

    Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default);
}
