namespace VisualGen.Pipelines.Caching;

/// <summary>The per-step decisions of one generation, shared by the caches of its transformers. Image-to-image runs
/// the schedule's steps from <see cref="FirstStep"/> on: those are the steps logged and reported, and the caches count
/// their warm-up from it. A step with several cached calls (true CFG's two branches, one cache each) is computed when
/// any of them computed, skipped only when every one reused its residual.</summary>
public sealed class StepCacheLog(string method, int steps, int firstStep = 0)
{
    readonly bool?[] _computed = new bool?[steps - firstStep];

    /// <summary>The schedule's steps (the last always computes).</summary>
    public int Steps => steps;

    /// <summary>The first step the loop runs (0 unless image-to-image starts part-way).</summary>
    public int FirstStep => firstStep;

    public void Record(int step, bool computed) => _computed[step - firstStep] = computed || _computed[step - firstStep] == true;

    public StepCacheReport Report() => new(method, _computed.Select((c, i) =>
        c ?? throw new InvalidOperationException($"{method}: step {firstStep + i} was never predicted")).ToArray());
}
