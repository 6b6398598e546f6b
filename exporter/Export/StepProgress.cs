namespace VisualGen.Exporter.Export;

/// <summary>A fraction's progress (0..1) reported once per <paramref name="step"/> crossed (10 %, 20 %, …; not 100 %,
/// which the caller's "done" line says), so a long export of billions of weights prints a line every few seconds
/// instead of one per initializer or none at all. Reports come from the writer's one thread, in order.</summary>
public sealed class StepProgress(Action<double> report, double step = 0.1) : IProgress<double>
{
    readonly double _step = step;
    double _next = step;

    public void Report(double value)
    {
        if (value < _next || value >= 1) return;
        while (_next <= value) _next += _step;
        report(value);
    }
}
