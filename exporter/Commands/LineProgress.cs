namespace VisualGen.Exporter.Commands;

/// <summary>Synchronous progress (System.Progress posts to the thread pool, which reorders console lines).</summary>
public sealed class LineProgress(Action<string> write) : IProgress<string>
{
    public void Report(string value) => write(value);
}
