namespace VisualGen.Tests.Cli;

/// <summary>A log that cancels the run when it first sees <paramref name="trigger"/>, as a Ctrl+C in the middle.</summary>
sealed class CancellingLog(CancellationTokenSource cancel, string trigger) : StringWriter
{
    public override void WriteLine(string? value)
    {
        base.WriteLine(value);
        if (value?.Contains(trigger) == true) cancel.Cancel();
    }
}
