using VisualGen.Tensors;

namespace VisualGen.Pipelines.Flux2;

/// <summary>What a FLUX.2 request must satisfy; each violation is a <see cref="GenerationException"/> naming the
/// argument. diffusers resizes sizes that are not multiples of 16 with a warning; we refuse them so the output has the
/// size asked for. Flux2Pipeline has no negative prompt: FLUX.2-dev is guidance-distilled.</summary>
public static class Flux2RequestRules
{
    /// <summary>Flux2Pipeline's call arguments: embedded guidance, and reference images (any number).</summary>
    public static readonly IReadOnlyList<CallArgument> Arguments =
        [CallArguments.GuidanceScale, CallArguments.MaxSequenceLength, CallArguments.Image];

    const string Distilled = "FLUX.2-dev is guidance-distilled (use guidance_scale)";
    static readonly Dictionary<CallArgument, string> Reasons = new()
    {
        [CallArguments.NegativePrompt] = Distilled,
        [CallArguments.TrueCfgScale] = $"it has no true CFG: {Distilled}",
    };

    public static void Validate(GenerationRequest r, Flux2ModelConfig c, PipelineInfo info, int height, int width, int steps, int maxSeq)
    {
        CallArguments.Refuse(r, info, info.ClassName, Reasons);
        Caching.StepCaches.ValidateWithoutTeaCacheTable(r, c.NumBlocks, "FLUX.2");
        CommonArguments.Check(r, steps);
        var references = ConditioningImages.Of(r);
        for (int i = 0; i < references.Count; i++)
        {
            try { Flux2ReferenceImage.Check(references[i]); }
            catch (GenerationException e) when (references.Count > 1)
            {
                throw new GenerationException("image", $"reference image {i + 1} of {references.Count}: {e.Message}", e) { Index = i };
            }
        }
        int m = c.SizeMultiple;
        if (height <= 0 || height % m != 0)
            throw new GenerationException("height", $"height must be a positive multiple of {m} (VAE scale {c.VaeScaleFactor} × 2×2 patchify), got {height}");
        if (width <= 0 || width % m != 0)
            throw new GenerationException("width", $"width must be a positive multiple of {m} (VAE scale {c.VaeScaleFactor} × 2×2 patchify), got {width}");
        if ((long)height * width > 4096L * 4096)
            throw new GenerationException("height", $"{width}x{height} is larger than this pipeline accepts (4096×4096)");
        // diffusers sets no upper limit; the text encoder's positions do
        if (maxSeq <= 0 || maxSeq > c.TextMaxPositions)
            throw new GenerationException("max_sequence_length", $"max_sequence_length must be between 1 and the text encoder's max_position_embeddings ({c.TextMaxPositions}), got {maxSeq}");
        if (r.GuidanceScale is double g && (g < 0 || double.IsNaN(g) || double.IsInfinity(g)))
            throw new GenerationException("guidance_scale", $"guidance_scale must be a finite number ≥ 0, got {g}");
    }

    /// <summary>The explicit initial latents as diffusers takes them: patchified [1, 4·latent_channels, h, w].</summary>
    public static HostTensor CheckLatents(HostTensor latents, long[] expected)
    {
        if (latents.DType != Checkpoints.TensorDType.F32 || !latents.Shape.SequenceEqual(expected))
            throw new GenerationException("latents",
                $"latents must be float32 of shape [{string.Join(", ", expected)}] ([batch, 4·latent_channels, height/16, width/16], patchified and unpacked as Flux2Pipeline takes them) for this size, got {latents.DType} {latents.ShapeText}");
        return latents;
    }
}
