using VisualGen.Schedulers;

namespace VisualGen.Pipelines;

/// <summary>
/// The denoising loop every family shares: for each scheduler timestep ask the family for a (guided) noise
/// prediction, then step the scheduler. Families supply only the prediction; progress and cancellation live here.
/// </summary>
public static class DenoisingLoop
{
    /// <summary>Predicts the model output for <paramref name="latents"/> at step <paramref name="step"/> (timestep <paramref name="t"/>).</summary>
    public delegate float[] Predict(int step, double t, float[] latents);

    public static float[] Run(IScheduler scheduler, float[] latents, Predict predict, IProgress<GenerationProgress>? progress,
        CancellationToken cancellationToken)
    {
        int steps = scheduler.Timesteps.Count;
        var sample = (float[])latents.Clone();
        progress?.Report(new GenerationProgress("denoise", 0, steps));   // the stage begins (encoding is done)
        for (int i = 0; i < steps; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var noisePred = predict(i, scheduler.Timesteps[i], sample);
            if (noisePred.Length != sample.Length)
                throw new InvalidOperationException($"model output has {noisePred.Length} values, latents have {sample.Length}");
            scheduler.Step(noisePred, i, sample, sample);
            progress?.Report(new GenerationProgress("denoise", i + 1, steps));
        }
        return sample;
    }
}
