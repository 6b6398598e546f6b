using VisualGen.Engines;

namespace VisualGen.Pipelines.Caching;

/// <summary>A step cache's state for one transformer (Wan 2.2 A14B keeps one per expert): predicts a step, computing
/// or reusing what it cached, and records the decision in the generation's <see cref="StepCacheLog"/>. Disposing it
/// frees what it holds where the engines compute.</summary>
public interface IStepCache : IDisposable
{
    /// <summary>This step's prediction, where the transformer computes (the caller disposes it).</summary>
    IEngineTensor Predict(int step, ICachedTransformer transformer);
}

/// <summary>Step caches in the loops that step on the host (FLUX.1, Qwen-Image).</summary>
public static class StepCacheExtensions
{
    /// <summary>The cache's prediction for <paramref name="call"/>, brought to the host; the call is disposed.</summary>
    public static float[] PredictOnHost(this IStepCache cache, int step, PartsTransformer call)
    {
        using (call)
        {
            using var output = cache.Predict(step, call);
            return output.ToHost().Floats;
        }
    }
}
