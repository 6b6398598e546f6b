using VisualGen.Tensors;

namespace VisualGen.Pipelines.Wan;

/// <summary>What a Wan request must satisfy; each violation is a <see cref="GenerationException"/> naming the argument.</summary>
public static class WanRequestRules
{
    /// <summary>Wan's text context, 512 tokens: the original model's text_len and diffusers' default, which diffusers'
    /// WanTransformer3DModel calls "the context length of the text encoder" (its image-to-video attention assumes it).
    /// diffusers' WanPipeline sets no limit and UMT5's relative positions set none either, so a larger value ran until
    /// the encoder's [heads, seq, seq] attention could not be allocated (100000 tokens: an 80 GB buffer).</summary>
    public const int MaxSequenceLengthLimit = 512;

    /// <summary>The call arguments a Wan pipeline takes: guidance_scale_2 with two experts (boundary_ratio), an image for
    /// image-to-video (required) and TI2V (optional, expand_timesteps), a last frame for image-to-video.</summary>
    public static IReadOnlyList<CallArgument> Arguments(WanModelConfig c) =>
    [
        CallArguments.NegativePrompt, CallArguments.NumFrames, CallArguments.GuidanceScale, CallArguments.MaxSequenceLength,
        .. c.BoundaryRatio is not null ? [CallArguments.GuidanceScale2] : Array.Empty<CallArgument>(),
        .. c.ImageToVideo || c.ExpandTimesteps ? [CallArguments.Image] : Array.Empty<CallArgument>(),
        .. c.ImageToVideo ? [CallArguments.LastImage] : Array.Empty<CallArgument>(),
    ];

    static Dictionary<CallArgument, string> Reasons(PipelineInfo info) => new()
    {
        // diffusers' check_inputs: a second guidance scale needs the two experts' boundary (Wan 2.2 A14B)
        [CallArguments.GuidanceScale2] = "it is only supported when the pipeline's boundary_ratio is set (Wan 2.2 A14B's two experts); this model has one transformer",
        [CallArguments.Fps] = $"its videos are {info.FramesPerSecond} fps; fps applies to Cosmos3 and LTX-2",
        [CallArguments.TrueCfgScale] = "it takes guidance_scale (classifier-free guidance with the negative prompt); true_cfg_scale applies to Qwen-Image and FLUX.1",
        [CallArguments.Image] = "it is text-to-video; use an image-to-video model",
        [CallArguments.LastImage] = "it is an image-to-video model's last frame",
    };

    public static void Validate(GenerationRequest r, WanModelConfig c, int height, int width, int frames, int steps, int maxSeq, PipelineInfo info)
    {
        CallArguments.Refuse(r, info, info.ClassName, Reasons(info));
        CommonArguments.Check(r, steps);
        int m = c.SizeMultiple;
        if (height <= 0 || height % m != 0)
            throw new GenerationException("height", $"height must be a positive multiple of {m} (VAE scale {c.VaeScaleSpatial} × patch {c.PatchSize[1]}), got {height}");
        if (width <= 0 || width % m != 0)
            throw new GenerationException("width", $"width must be a positive multiple of {m} (VAE scale {c.VaeScaleSpatial} × patch {c.PatchSize[2]}), got {width}");
        if (frames < 1 || (frames - 1) % c.VaeScaleTemporal != 0)
            throw new GenerationException("num_frames", $"num_frames must be {c.VaeScaleTemporal}k+1 (1, {1 + c.VaeScaleTemporal}, {1 + 2 * c.VaeScaleTemporal}, ..., 81), got {frames}");
        if (maxSeq <= 0) throw new GenerationException("max_sequence_length", $"max_sequence_length must be at least 1, got {maxSeq}");
        if (maxSeq > MaxSequenceLengthLimit)
            throw new GenerationException("max_sequence_length", $"max_sequence_length must be at most {MaxSequenceLengthLimit} (Wan's text context: the UMT5 prompt length its transformer is made for), got {maxSeq}");
        // infinity passed this and made every output value NaN
        if (r.GuidanceScale is double g && !(g >= 0 && double.IsFinite(g))) throw new GenerationException("guidance_scale", $"guidance_scale must be a finite number ≥ 0, got {g}");
        if (r.GuidanceScale2 is double g2 && !(g2 >= 0 && double.IsFinite(g2))) throw new GenerationException("guidance_scale_2", $"guidance_scale_2 must be a finite number ≥ 0, got {g2}");
        // the rotary table covers rope_max_seq_len patches per axis; beyond it the transformer cannot place a patch
        int rope = c.RopeMaxSeqLen;
        long latentFrames = (frames - 1) / c.VaeScaleTemporal + 1;
        foreach (var (param, value, patches, perPatch) in new[]
        {
            ("num_frames", (long)frames, latentFrames / c.PatchSize[0], (long)c.VaeScaleTemporal * c.PatchSize[0]),
            ("height", height, height / c.SizeMultiple, (long)c.SizeMultiple),
            ("width", width, width / ((long)c.VaeScaleSpatial * c.PatchSize[2]), (long)c.VaeScaleSpatial * c.PatchSize[2]),
        })
            if (patches > rope)
            {
                string most = param == "num_frames" ? $"{(rope * (long)c.PatchSize[0] - 1) * c.VaeScaleTemporal + 1}" : $"{rope * perPatch}";
                throw new GenerationException(param, $"{param} {value} needs {patches} rotary positions along that axis; this checkpoint's " +
                    $"transformer covers {rope} (rope_max_seq_len in transformer/config.json): {param} can be at most {most}");
            }
        if (height * (long)width * frames > 1280L * 1280 * 241)
            throw new GenerationException("height", $"{width}x{height}x{frames} is larger than this pipeline accepts (at most 1280 × 1280 × 241 pixels)");
    }

    /// <summary>The explicit initial latents, checked against the shape the request implies.</summary>
    public static float[] CheckLatents(HostTensor latents, long[] expected)
    {
        if (latents.DType != Checkpoints.TensorDType.F32 || !latents.Shape.SequenceEqual(expected))
            throw new GenerationException("latents", $"latents must be float32 of shape [{string.Join(", ", expected)}] for this size and frame count, got {latents.DType} {latents.ShapeText}");
        return latents.Floats;
    }
}
