using VisualGen.Engines;
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

    /// <summary>Predicts the model output where the engines compute; the tensor stays the predictor's (valid until its next call).</summary>
    public delegate IEngineTensor PredictResident(int step, double t, IEngineTensor latents);

    /// <summary>
    /// The same loop with the latents, the prediction and the scheduler's state where the engines compute
    /// (<paramref name="math"/>: device kernels on the native CUDA engine): a step moves nothing between host and device
    /// unless <paramref name="predict"/> does. <paramref name="latents"/> is updated in place. From <paramref name="firstStep"/>
    /// on (image-to-image starts part-way, as diffusers' get_timesteps and set_begin_index); progress counts the steps run.
    /// <paramref name="afterStep"/> sees the latents after each scheduler step (inpainting puts the kept region back).
    /// </summary>
    public static void Run(IScheduler scheduler, IEngineTensor latents, ITensorArithmetic math, PredictResident predict,
        IProgress<GenerationProgress>? progress, CancellationToken cancellationToken, int firstStep = 0, Action<int, IEngineTensor>? afterStep = null)
    {
        int steps = scheduler.Timesteps.Count;
        long count = latents.Shape.Aggregate(1L, (a, b) => a * b);
        progress?.Report(new GenerationProgress("denoise", 0, steps - firstStep));
        try
        {
            for (int i = firstStep; i < steps; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var noisePred = predict(i, scheduler.Timesteps[i], latents);
                long n = noisePred.Shape.Aggregate(1L, (a, b) => a * b);
                if (n != count)
                    throw new InvalidOperationException($"model output has {n} values, latents have {count}");
                scheduler.Step(noisePred, i, latents, latents, math);
                afterStep?.Invoke(i, latents);
                progress?.Report(new GenerationProgress("denoise", i + 1 - firstStep, steps - firstStep));
            }
        }
        finally { scheduler.ReleaseState(); }   // the history's device memory goes back now, not when the scheduler is collected
    }
}
