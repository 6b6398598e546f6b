namespace VisualGen.Pipelines.Flux;

/// <summary>The call arguments of FLUX.1's image pipelines (strength: Qwen-Image's image-to-image too); other pipelines refuse them by name rather than ignore them.</summary>
public static class FluxArguments
{
    /// <summary>max_area (FLUX.1 Kontext) and strength (FLUX.1 image-to-image), refused in <paramref name="family"/>.</summary>
    public static void RefuseIn(GenerationRequest r, string family)
    {
        RefuseMaxArea(r, family);
        RefuseStrength(r, family);
    }

    public static void RefuseMaxArea(GenerationRequest r, string family)
    {
        if (r.MaxArea is not null)
            throw new GenerationException("max_area", $"{family} takes no max_area: it is a FLUX.1 Kontext argument (the area its output is fitted to)");
    }

    public static void RefuseStrength(GenerationRequest r, string family)
    {
        if (r.Strength is not null)
            throw new GenerationException("strength", $"{family} takes no strength: it is FLUX.1 and Qwen-Image image-to-image's (how much of the image is noised)");
    }
}
