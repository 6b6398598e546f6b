namespace VisualGen.Pipelines.Caching;

/// <summary>
/// TeaCache (Liu et al. 2024, "Timestep Embedding Tells: It's Time to Cache for Video Diffusion Model") as
/// TensorRT-LLM's VisualGen applies it: skip the transformer at a step whose timestep embedding moved little since the
/// previous step, reusing the previous step's residual. <paramref name="Threshold"/> is <c>teacache_thresh</c>;
/// <paramref name="Coefficients"/> the rescaling polynomial, highest power first (numpy's poly1d order), or null for the
/// family's shipped default.
/// </summary>
public sealed record TeaCacheOptions(double Threshold, IReadOnlyList<double>? Coefficients = null)
{
    public void Validate()
    {
        if (!double.IsFinite(Threshold) || Threshold < 0)
            throw new GenerationException("teacache_thresh", $"teacache_thresh must be a finite number ≥ 0, got {Threshold}");
        if (Coefficients is { } c)
        {
            if (c.Count == 0)
                throw new GenerationException("teacache_coefficients", "teacache_coefficients must list at least one number (highest power first)");
            if (c.Any(v => !double.IsFinite(v)))
                throw new GenerationException("teacache_coefficients", $"teacache_coefficients must be finite numbers, got {string.Join(", ", c)}");
        }
    }
}
