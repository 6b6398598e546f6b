using VisualGen.Tensors;

namespace VisualGen.Pipelines.Flux;

/// <summary>What a FLUX request must satisfy; each violation is a <see cref="GenerationException"/> naming the argument.
/// diffusers resizes sizes that are not multiples of 16 with a warning; we refuse them so the output has the size asked for.</summary>
public static class FluxRequestRules
{
    public const int MaxSequenceLengthLimit = 512;

    /// <summary>The call arguments of FLUX.1's pipelines: true CFG with a negative prompt; FluxPipeline given an image is
    /// FluxImg2ImgPipeline (strength), and with a mask_image too FluxInpaintPipeline; Kontext edits its image at an area (max_area).</summary>
    public static IReadOnlyList<CallArgument> Arguments(bool kontext, bool fill = false) => fill
        // FluxFillPipeline: no negative prompt, no true CFG
        ? [CallArguments.GuidanceScale, CallArguments.MaxSequenceLength, CallArguments.Image, CallArguments.Strength, CallArguments.MaskImage]
        :
        [
            CallArguments.NegativePrompt, CallArguments.GuidanceScale, CallArguments.TrueCfgScale, CallArguments.MaxSequenceLength,
            CallArguments.Image, .. kontext ? [CallArguments.MaxArea] : new[] { CallArguments.Strength, CallArguments.MaskImage },
        ];

    public static void Validate(GenerationRequest r, FluxModelConfig c, PipelineInfo info, int height, int width, int steps, int maxSeq)
    {
        CallArguments.Refuse(r, info, info.ClassName);
        if (info.ClassName == FluxFill.ClassName)
        {
            if (r.Image is null || r.MaskImage is null)
                throw new GenerationException(r.Image is null ? "image" : "mask_image",
                    $"{FluxFill.ClassName} fills the white region of mask_image in image: give both (--image and --mask-image)");
            // its transformer reads more channels than it predicts: a cached residual (prediction − input) has no meaning
            if (r.TeaCache is not null || r.CacheDit is not null)
                throw new GenerationException(r.TeaCache is not null ? "teacache_thresh" : "cache_dit",
                    $"step caches are not supported with {FluxFill.ClassName}: its transformer reads the mask and the masked image beside the latents");
        }
        CommonArguments.Check(r, steps);
        if (r.Image is { } image) Images.VaeInput.Check(image);
        if (info.Takes(CallArguments.Strength)) ImageToImage.Validate(r);
        Inpainting.Validate(r);

        if (r.MaxArea is long area && (area < (long)c.SizeMultiple * c.SizeMultiple || area > 4096L * 4096))
            throw new GenerationException("max_area", $"max_area must be between {c.SizeMultiple * c.SizeMultiple} and {4096L * 4096} pixels, got {area}");
        int m = c.SizeMultiple;
        if (height <= 0 || height % m != 0)
            throw new GenerationException("height", $"height must be a positive multiple of {m} (VAE scale {c.VaeScaleFactor} × 2×2 latent packing), got {height}");
        if (width <= 0 || width % m != 0)
            throw new GenerationException("width", $"width must be a positive multiple of {m} (VAE scale {c.VaeScaleFactor} × 2×2 latent packing), got {width}");
        if ((long)height * width > 4096L * 4096)
            throw new GenerationException("height", $"{width}x{height} is larger than this pipeline accepts (4096×4096)");
        if (maxSeq <= 0 || maxSeq > MaxSequenceLengthLimit)
            throw new GenerationException("max_sequence_length", $"max_sequence_length must be between 1 and {MaxSequenceLengthLimit}, got {maxSeq}");
        if (r.GuidanceScale is double g && (g < 0 || double.IsNaN(g) || double.IsInfinity(g)))
            throw new GenerationException("guidance_scale", $"guidance_scale must be a finite number ≥ 0, got {g}");
        if (r.TrueCfgScale is double t && (t < 0 || double.IsNaN(t) || double.IsInfinity(t)))
            throw new GenerationException("true_cfg_scale", $"true_cfg_scale must be a finite number ≥ 0, got {t}");
    }

    /// <summary>The explicit initial latents, checked against the packed shape the request implies.</summary>
    public static float[] CheckLatents(HostTensor latents, long[] expected)
    {
        if (latents.DType != Checkpoints.TensorDType.F32 || !latents.Shape.SequenceEqual(expected))
            throw new GenerationException("latents", $"latents must be packed float32 of shape [{string.Join(", ", expected)}] ([batch, (height/16)·(width/16), 4·latent_channels]) for this size, got {latents.DType} {latents.ShapeText}");
        return latents.Floats;
    }
}
