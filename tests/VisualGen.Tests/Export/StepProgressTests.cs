using VisualGen.Exporter.Export;

namespace VisualGen.Tests.Export;

public class StepProgressTests
{
    [Fact]
    public void Reports_once_per_step_crossed_in_order_and_not_the_end()
    {
        var seen = new List<double>();
        var p = new StepProgress(seen.Add, 0.25);
        foreach (double f in new[] { 0.0, 0.1, 0.24, 0.25, 0.3, 0.26, 0.8, 0.81, 0.99, 1.0, 1.0 }) p.Report(f);
        // 0.25 crosses the first step; 0.8 the second and third at once (one line); 1.0 is the caller's "done"
        Assert.Equal([0.25, 0.8], seen);
    }
}
