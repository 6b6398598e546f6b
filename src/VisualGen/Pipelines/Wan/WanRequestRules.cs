using VisualGen.Tensors;

namespace VisualGen.Pipelines.Wan;

/// <summary>What a Wan request must satisfy; each violation is a <see cref="GenerationException"/> naming the argument.</summary>
public static class WanRequestRules
{
    public static void Validate(GenerationRequest r, WanModelConfig c, int height, int width, int frames, int steps, int maxSeq, PipelineInfo info)
    {
        Ltx2.Ltx2Arguments.RefuseIn(r, "Wan");
        Flux.FluxArguments.RefuseIn(r, "Wan");
        ConditioningImages.RefuseList(r, "Wan");
        if (string.IsNullOrWhiteSpace(r.Prompt)) throw new GenerationException("prompt", "prompt must not be empty");
        int m = c.SizeMultiple;
        if (height <= 0 || height % m != 0)
            throw new GenerationException("height", $"height must be a positive multiple of {m} (VAE scale {c.VaeScaleSpatial} × patch {c.PatchSize[1]}), got {height}");
        if (width <= 0 || width % m != 0)
            throw new GenerationException("width", $"width must be a positive multiple of {m} (VAE scale {c.VaeScaleSpatial} × patch {c.PatchSize[2]}), got {width}");
        if (frames < 1 || (frames - 1) % c.VaeScaleTemporal != 0)
            throw new GenerationException("num_frames", $"num_frames must be {c.VaeScaleTemporal}k+1 (1, {1 + c.VaeScaleTemporal}, {1 + 2 * c.VaeScaleTemporal}, ..., 81), got {frames}");
        if (steps <= 0) throw new GenerationException("num_inference_steps", $"num_inference_steps must be at least 1, got {steps}");
        if (steps > 1000) throw new GenerationException("num_inference_steps", $"num_inference_steps must be at most 1000, got {steps}");
        if (maxSeq <= 0) throw new GenerationException("max_sequence_length", $"max_sequence_length must be at least 1, got {maxSeq}");
        if (r.GuidanceScale is double g && (g < 0 || double.IsNaN(g))) throw new GenerationException("guidance_scale", $"guidance_scale must be ≥ 0, got {g}");
        // diffusers' check_inputs: a second guidance scale needs the two experts' boundary (Wan 2.2 A14B)
        if (r.GuidanceScale2 is not null && c.BoundaryRatio is null)
            throw new GenerationException("guidance_scale_2", "guidance_scale_2 is only supported when the pipeline's boundary_ratio is set (Wan 2.2 A14B's two experts); this model has one transformer");
        if (r.Fps is not null)
            throw new GenerationException("fps", $"Wan takes no fps (its videos are {info.FramesPerSecond} fps); fps applies to Cosmos3");
        if (r.TrueCfgScale is not null)
            throw new GenerationException("true_cfg_scale", "Wan takes guidance_scale (classifier-free guidance with the negative prompt); true_cfg_scale applies to Qwen-Image and FLUX only");
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
            throw new GenerationException("height", $"{width}x{height}x{frames} is larger than this server accepts");
    }

    /// <summary>The explicit initial latents, checked against the shape the request implies.</summary>
    public static float[] CheckLatents(HostTensor latents, long[] expected)
    {
        if (latents.DType != Checkpoints.TensorDType.F32 || !latents.Shape.SequenceEqual(expected))
            throw new GenerationException("latents", $"latents must be float32 of shape [{string.Join(", ", expected)}] for this size and frame count, got {latents.DType} {latents.ShapeText}");
        return latents.Floats;
    }
}
