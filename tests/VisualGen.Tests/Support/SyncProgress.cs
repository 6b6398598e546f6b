using VisualGen.Pipelines;

namespace VisualGen.Tests.Support;

/// <summary>Hears progress as it is reported (Progress&lt;T&gt; posts it later, out of order with the test).</summary>
sealed class SyncProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
{
    public void Report(GenerationProgress value) => report(value);
}
