namespace VisualGen.Pipelines.Caching;

/// <summary>The per-step decisions of one generation, shared by the caches of its transformers.</summary>
public sealed class StepCacheLog(string method, int steps)
{
    readonly bool?[] _computed = new bool?[steps];

    public int Steps => steps;

    public void Record(int step, bool computed) => _computed[step] = computed;

    public StepCacheReport Report() => new(method, _computed.Select((c, i) =>
        c ?? throw new InvalidOperationException($"{method}: step {i} was never predicted")).ToArray());
}
