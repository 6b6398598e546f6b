namespace VisualGen.Exporter.Commands;

/// <summary>Ctrl+C for the commands that write into the engine cache or an output file (build, run-component), as
/// generate and quantize have it: the first press cancels the command's token instead of killing the process, so the
/// command stops at its next check, removes what it had half written (an export's staging folder, a build's temporary
/// entry) and ends with "cancelled", exit 130 (<see cref="CommandErrors"/>).</summary>
public static class ConsoleCancellation
{
    public static int Run(TextWriter log, Func<CancellationToken, int> command)
    {
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
            log.WriteLine("cancelling...");
        };
        Console.CancelKeyPress += onCancel;
        try { return command(cancel.Token); }
        finally { Console.CancelKeyPress -= onCancel; }
    }
}
