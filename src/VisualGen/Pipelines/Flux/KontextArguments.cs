namespace VisualGen.Pipelines.Flux;

/// <summary>The call argument only FluxKontextPipeline takes; other pipelines refuse it by name rather than ignore it.</summary>
public static class KontextArguments
{
    public static void RefuseIn(GenerationRequest r, string family)
    {
        if (r.MaxArea is not null)
            throw new GenerationException("max_area", $"{family} takes no max_area: it is a FLUX.1 Kontext argument (the area its output is fitted to)");
    }
}
