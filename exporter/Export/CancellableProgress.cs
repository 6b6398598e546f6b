namespace VisualGen.Exporter.Export;

/// <summary>A writer's progress that also stops it once <paramref name="cancellation"/> is cancelled: the ONNX writer
/// reports after every initializer, so a Ctrl+C during a long export ends it there (OperationCanceledException), and
/// the caller removes the half-written files. Reports go on to <paramref name="inner"/>, when there is one.</summary>
public sealed class CancellableProgress(IProgress<double>? inner, CancellationToken cancellation) : IProgress<double>
{
    public void Report(double value)
    {
        cancellation.ThrowIfCancellationRequested();
        inner?.Report(value);
    }
}
