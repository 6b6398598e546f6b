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
