namespace VisualGen.Pipelines.Caching;

/// <summary>What a step cache did in one generation: for each denoising step, whether the transformer (TeaCache) or
/// its middle blocks (Cache-DiT) ran (true) or a cached residual was reused (false).</summary>
public sealed record StepCacheReport(string Method, IReadOnlyList<bool> Computed)
{
    public int ComputedSteps => Computed.Count(c => c);
    public int SkippedSteps => Computed.Count(c => !c);

    /// <summary>One character a step: "1" computed, "0" skipped ("1000010101").</summary>
    public string ComputedText => string.Concat(Computed.Select(c => c ? '1' : '0'));

    /// <summary>One line for logs: "teacache: 4 of 10 steps computed, 6 skipped".</summary>
    public override string ToString() => $"{Method}: {ComputedSteps} of {Computed.Count} steps computed, {SkippedSteps} skipped";
}
