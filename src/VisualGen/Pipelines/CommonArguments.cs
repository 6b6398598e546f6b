namespace VisualGen.Pipelines;

/// <summary>The rules of the arguments every pipeline takes, checked by each family's Validate after
/// <see cref="CallArguments.Refuse"/>: a prompt, 1 to <see cref="MaxSteps"/> steps, a seed of 0 or more, finite explicit
/// latents.</summary>
public static class CommonArguments
{
    public const int MaxSteps = 1000;

    /// <summary>Throws a <see cref="GenerationException"/> naming the first of prompt, num_inference_steps
    /// (<paramref name="steps"/>: the request's or the pipeline's default), seed, latents and audio_latents that breaks
    /// its rule.</summary>
    public static void Check(GenerationRequest r, int steps)
    {
        if (string.IsNullOrWhiteSpace(r.Prompt)) throw new GenerationException("prompt", "prompt must not be empty");
        if (steps <= 0) throw new GenerationException("num_inference_steps", $"num_inference_steps must be at least 1, got {steps}");
        if (steps > MaxSteps) throw new GenerationException("num_inference_steps", $"num_inference_steps must be at most {MaxSteps}, got {steps}");
        // the server's seed is 0 to 2^63-1 too; a negative seed (-1, "random" in other tools) ran as one more fixed seed
        if (r.Seed < 0)
            throw new GenerationException("seed", $"seed must be 0 or more (at most {long.MaxValue}), got {r.Seed}; leave it unset for the default seed 0");
        // a NaN or an infinity in explicit latents made every output value NaN, without a word (their shapes are each
        // family's rule)
        CheckFinite(r.Latents, "latents");
        CheckFinite(r.AudioLatents, "audio_latents");
    }

    static void CheckFinite(Tensors.HostTensor? latents, string parameter)
    {
        if (latents is not { DType: Checkpoints.TensorDType.F32 }) return;
        var values = latents.Floats;
        for (long i = 0; i < values.LongLength; i++)
            if (!float.IsFinite(values[i]))
                throw new GenerationException(parameter, $"{parameter} must be finite; element {i} of {latents.ShapeText} is " +
                    values[i].ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
