namespace VisualGen.Pipelines;

/// <summary>A call argument that only some pipelines take: diffusers' name, whether a request sets it, and what it is
/// (the reason given when a pipeline that does not take it refuses it). Arguments every pipeline takes (prompt, size,
/// steps, seed, latents, step caches) are not in the table.</summary>
public sealed record CallArgument(string Name, string What, Func<GenerationRequest, bool> IsSet)
{
    public override string ToString() => Name;
}

/// <summary>The table of <see cref="CallArgument"/>s. Each pipeline lists those it takes in <see cref="PipelineInfo.Arguments"/>
/// and refuses the others by name through <see cref="Refuse"/>, so no argument is ever ignored.</summary>
public static class CallArguments
{
    public static readonly CallArgument NegativePrompt = new("negative_prompt",
        "the prompt classifier-free guidance steers away from", r => r.NegativePrompt is not null);
    /// <summary>Set only when it asks for more than one frame: image pipelines take num_frames 1.</summary>
    public static readonly CallArgument NumFrames = new("num_frames",
        "a video's length (an image pipeline takes num_frames 1 or none)", r => r.NumFrames is int f && f != 1);
    public static readonly CallArgument GuidanceScale = new("guidance_scale",
        "the classifier-free or embedded guidance scale", r => r.GuidanceScale is not null);
    public static readonly CallArgument GuidanceScale2 = new("guidance_scale_2",
        "the low-noise expert's guidance of Wan 2.2 A14B (a model with boundary_ratio and two transformers)", r => r.GuidanceScale2 is not null);
    public static readonly CallArgument TrueCfgScale = new("true_cfg_scale",
        "the scale of true classifier-free guidance with a negative prompt (Qwen-Image, FLUX.1)", r => r.TrueCfgScale is not null);
    public static readonly CallArgument MaxSequenceLength = new("max_sequence_length",
        "the text encoder's token limit", r => r.MaxSequenceLength is not null);
    public static readonly CallArgument Fps = new("fps",
        "the frame rate of Cosmos3's and LTX-2's videos", r => r.Fps is not null);
    public static readonly CallArgument MaxArea = new("max_area",
        "FLUX.1 Kontext's argument (the area its output is fitted to)", r => r.MaxArea is not null);
    public static readonly CallArgument Strength = new("strength",
        "image-to-image's argument, FLUX.1's and Qwen-Image's (how much of the image is noised)", r => r.Strength is not null);
    public static readonly CallArgument Image = new("image",
        "a conditioning image (image-to-video, image-to-image, editing)", r => r.Image is not null || r.Images is not null);
    public static readonly CallArgument LastImage = new("last_image",
        "Wan image-to-video's last frame", r => r.LastImage is not null);
    public static readonly CallArgument MaskImage = new("mask_image",
        "the inpainting mask of FLUX.1 (and FLUX.1 Fill) and Qwen-Image (where their image is repainted)", r => r.MaskImage is not null);

    const string Ltx2Argument = "an LTX-2 (audio-video) argument";
    public static readonly CallArgument StgScale = new("stg_scale", Ltx2Argument, r => r.StgScale is not null);
    public static readonly CallArgument ModalityScale = new("modality_scale", Ltx2Argument, r => r.ModalityScale is not null);
    public static readonly CallArgument GuidanceRescale = new("guidance_rescale", Ltx2Argument, r => r.GuidanceRescale is not null);
    public static readonly CallArgument AudioGuidanceScale = new("audio_guidance_scale", Ltx2Argument, r => r.AudioGuidanceScale is not null);
    public static readonly CallArgument AudioStgScale = new("audio_stg_scale", Ltx2Argument, r => r.AudioStgScale is not null);
    public static readonly CallArgument AudioModalityScale = new("audio_modality_scale", Ltx2Argument, r => r.AudioModalityScale is not null);
    public static readonly CallArgument AudioGuidanceRescale = new("audio_guidance_rescale", Ltx2Argument, r => r.AudioGuidanceRescale is not null);
    public static readonly CallArgument SpatioTemporalGuidanceBlocks = new("spatio_temporal_guidance_blocks", Ltx2Argument, r => r.SpatioTemporalGuidanceBlocks is not null);
    public static readonly CallArgument UseCrossTimestep = new("use_cross_timestep", Ltx2Argument, r => r.UseCrossTimestep is not null);
    public static readonly CallArgument AudioLatents = new("audio_latents", Ltx2Argument, r => r.AudioLatents is not null);

    /// <summary>LTX2Pipeline's own arguments: its audio stream and its guidance terms.</summary>
    public static readonly IReadOnlyList<CallArgument> Ltx2 =
    [
        StgScale, ModalityScale, GuidanceRescale, AudioGuidanceScale, AudioStgScale, AudioModalityScale, AudioGuidanceRescale,
        SpatioTemporalGuidanceBlocks, UseCrossTimestep, AudioLatents,
    ];

    /// <summary>Every argument of the table, in the order a request's are checked.</summary>
    public static readonly IReadOnlyList<CallArgument> All =
        [NegativePrompt, NumFrames, GuidanceScale, GuidanceScale2, TrueCfgScale, MaxSequenceLength, Fps, MaxArea, Strength, Image, LastImage, MaskImage, .. Ltx2];

    /// <summary>Throws a <see cref="GenerationException"/> naming the first argument <paramref name="r"/> sets that
    /// <paramref name="info"/> does not take: "{family} takes no {name}: {reason}", the reason being the family's own
    /// (<paramref name="reasons"/>) or the table's. A pipeline that takes one image also refuses a list of them.</summary>
    public static void Refuse(GenerationRequest r, PipelineInfo info, string family, IReadOnlyDictionary<CallArgument, string>? reasons = null)
    {
        foreach (var a in All)
            if (a.IsSet(r) && !info.Arguments.Contains(a))
                throw new GenerationException(a.Name, reasons is not null && reasons.TryGetValue(a, out var reason)
                    ? $"{family} takes no {a.Name}: {reason}"
                    : $"{family} takes no {a.Name}: it is {a.What}");
        if (info.Arguments.Contains(Image) && info.MaxImages == 1) ConditioningImages.RefuseList(r, family);
    }
}
