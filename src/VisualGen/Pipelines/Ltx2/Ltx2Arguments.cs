namespace VisualGen.Pipelines.Ltx2;

/// <summary>The call arguments only LTX2Pipeline takes; other families refuse them by name rather than ignore them.</summary>
public static class Ltx2Arguments
{
    /// <summary>Throws a <see cref="GenerationException"/> naming the first LTX-2 argument set on <paramref name="r"/>.</summary>
    public static void RefuseIn(GenerationRequest r, string family)
    {
        var given = new (string Name, bool Set)[]
        {
            ("stg_scale", r.StgScale is not null), ("modality_scale", r.ModalityScale is not null),
            ("guidance_rescale", r.GuidanceRescale is not null), ("audio_guidance_scale", r.AudioGuidanceScale is not null),
            ("audio_stg_scale", r.AudioStgScale is not null), ("audio_modality_scale", r.AudioModalityScale is not null),
            ("audio_guidance_rescale", r.AudioGuidanceRescale is not null),
            ("spatio_temporal_guidance_blocks", r.SpatioTemporalGuidanceBlocks is not null),
            ("use_cross_timestep", r.UseCrossTimestep is not null), ("audio_latents", r.AudioLatents is not null),
        }.FirstOrDefault(a => a.Set);
        if (given.Name is not null)
            throw new GenerationException(given.Name, $"{family} takes no {given.Name}: it is an LTX-2 (audio-video) argument");
    }
}
