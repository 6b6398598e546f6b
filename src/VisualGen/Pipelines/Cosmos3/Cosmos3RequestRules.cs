using VisualGen.Tensors;

namespace VisualGen.Pipelines.Cosmos3;

/// <summary>What a Cosmos3 request must satisfy; each violation is a <see cref="GenerationException"/> naming the argument.</summary>
public static class Cosmos3RequestRules
{
    /// <summary>Cosmos3's call arguments: CFG with a negative prompt, the frame rate, a first frame for image-to-video.</summary>
    public static readonly IReadOnlyList<CallArgument> Arguments =
        [CallArguments.NegativePrompt, CallArguments.NumFrames, CallArguments.GuidanceScale, CallArguments.Fps, CallArguments.Image];

    static readonly Dictionary<CallArgument, string> Reasons = new()
    {
        [CallArguments.GuidanceScale2] = "it has one transformer and takes guidance_scale only; guidance_scale_2 applies to Wan 2.2 A14B",
        [CallArguments.TrueCfgScale] = "it takes guidance_scale (classifier-free guidance with the negative prompt); true_cfg_scale applies to Qwen-Image and FLUX.1",
        [CallArguments.MaxSequenceLength] = "it reads the whole templated prompt (there is no text encoder with a length limit)",
    };

    public static void Validate(GenerationRequest r, Cosmos3ModelConfig c, PipelineInfo info, int height, int width, int frames, int steps, double fps, double guidance)
    {
        CallArguments.Refuse(r, info, info.ClassName, Reasons);
        Caching.StepCaches.ValidateWithoutTeaCacheTable(r, c.NumLayers, "Cosmos3");
        CommonArguments.Check(r, steps);
        int m = c.VaeScaleSpatial;
        // the resolution template states height x width; the VAE compresses by its spatial factor
        if (height <= 0 || height % m != 0)
            throw new GenerationException("height", $"height must be a positive multiple of {m} (the VAE's spatial compression), got {height}");
        if (width <= 0 || width % m != 0)
            throw new GenerationException("width", $"width must be a positive multiple of {m} (the VAE's spatial compression), got {width}");
        int tf = c.VaeScaleTemporal;
        if (frames < 1 || (frames - 1) % tf != 0)
            throw new GenerationException("num_frames", $"num_frames must be 1 (an image) or {tf}k+1 ({1 + tf}, {1 + 2 * tf}, ..., 189), got {frames}");
        if (!(fps > 0) || double.IsInfinity(fps)) throw new GenerationException("fps", $"fps must be a positive number (the duration template and the time positions use it), got {fps}");
        if (!(guidance >= 0 && double.IsFinite(guidance))) throw new GenerationException("guidance_scale", $"guidance_scale must be a finite number ≥ 0, got {guidance}");
        if (height * (long)width * frames > 1280L * 1280 * 241)
            throw new GenerationException("height", $"{width}x{height}x{frames} is larger than this pipeline accepts (at most 1280 × 1280 × 241 pixels)");
        if (r.Image is { } im)
        {
            if (frames == 1)
                throw new GenerationException("image", "Cosmos3 makes an image when num_frames is 1 and takes no conditioning image then; give num_frames > 1 for image-to-video");
            Images.VaeInput.Check(im);
        }
    }

    /// <summary>The explicit initial latents, checked against the shape the request implies.</summary>
    public static float[] CheckLatents(HostTensor latents, long[] expected)
    {
        if (latents.DType != Checkpoints.TensorDType.F32 || !latents.Shape.SequenceEqual(expected))
            throw new GenerationException("latents", $"latents must be float32 of shape [{string.Join(", ", expected)}] for this size and frame count, got {latents.DType} {latents.ShapeText}");
        return latents.Floats;
    }
}
