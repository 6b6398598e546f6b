using VisualGen.Tensors;

namespace VisualGen.Pipelines.QwenImage;

/// <summary>What a Qwen-Image request must satisfy; each violation is a <see cref="GenerationException"/> naming the argument.</summary>
public static class QwenImageRequestRules
{
    /// <summary>diffusers' QwenImagePipeline.check_inputs: max_sequence_length cannot exceed 1024.</summary>
    public const int MaxSequenceLengthLimit = 1024;

    /// <summary>QwenImagePipeline's call arguments: true CFG with a negative prompt; given an image it is
    /// QwenImageImg2ImgPipeline (strength).</summary>
    public static readonly IReadOnlyList<CallArgument> Arguments =
    [
        CallArguments.NegativePrompt, CallArguments.TrueCfgScale, CallArguments.MaxSequenceLength, CallArguments.Image, CallArguments.Strength,
        CallArguments.MaskImage,
    ];

    static readonly Dictionary<CallArgument, string> Reasons = new()
    {
        [CallArguments.GuidanceScale] = "it is not guidance-distilled: it takes true_cfg_scale with a negative prompt",
    };

    public static void Validate(GenerationRequest r, QwenImageModelConfig c, PipelineInfo info, int height, int width, int steps, int maxSeq, double trueCfgScale)
    {
        CallArguments.Refuse(r, info, info.ClassName, Reasons);
        if (r.Image is { } image) Images.VaeInput.Check(image);
        ImageToImage.Validate(r);
        Inpainting.Validate(r);
        CommonArguments.Check(r, steps);
        int m = c.SizeMultiple;
        if (height <= 0 || height % m != 0)
            throw new GenerationException("height", $"height must be a positive multiple of {m} (VAE scale {c.VaeScaleFactor} × 2×2 packing), got {height}");
        if (width <= 0 || width % m != 0)
            throw new GenerationException("width", $"width must be a positive multiple of {m} (VAE scale {c.VaeScaleFactor} × 2×2 packing), got {width}");
        if (height * (long)width > 4096L * 4096)
            throw new GenerationException("height", $"{width}x{height} is larger than 4096x4096");
        if (maxSeq <= 0 || maxSeq > MaxSequenceLengthLimit)
            throw new GenerationException("max_sequence_length", $"max_sequence_length must be between 1 and {MaxSequenceLengthLimit}, got {maxSeq}");
        if (!(trueCfgScale >= 0 && double.IsFinite(trueCfgScale)))
            throw new GenerationException("true_cfg_scale", $"true_cfg_scale must be a finite number ≥ 0, got {trueCfgScale}");
    }

    /// <summary>The explicit initial latents: packed [1, (height/16)·(width/16), 4·z_dim] as diffusers takes them.</summary>
    public static float[] CheckLatents(HostTensor latents, long[] expected)
    {
        if (latents.DType != Checkpoints.TensorDType.F32 || !latents.Shape.SequenceEqual(expected))
            throw new GenerationException("latents",
                $"latents must be packed float32 of shape [{string.Join(", ", expected)}] for this size, got {latents.DType} {latents.ShapeText}");
        return latents.Floats;
    }
}
