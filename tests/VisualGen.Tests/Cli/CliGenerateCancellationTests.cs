using VisualGen.Cli;
using VisualGen.Exporter.Commands;
using VisualGen.Tests.Support;
using static VisualGen.Tests.Cli.CliBuildCancellationTests;

namespace VisualGen.Tests.Cli;

/// <summary>Ctrl+C in generate while the first run of a model builds its engines into the engine cache (the command's
/// token, as its Ctrl+C handler cancels it): the build stops as build's does, with exit 130, "cancelled", the engines
/// built before kept, no temporary folder left and no output written. Pipelines requested engines without a token, so
/// a Ctrl+C waited for the component being exported (and for another process's build lock) before it took effect.</summary>
public class CliGenerateCancellationTests
{
    static int Generate(string cache, string output, CancellingLog log, CancellationToken cancellation) =>
        CommandErrors.Run(() => GenerateCommand.Run(["--model", Fixtures.Checkpoint("wan21_t2v"), "--prompt", "a fox", "--height", "32",
            "--width", "48", "--frames", "5", "--steps", "1", "--output", output, "--format", "png", "--engine-cache", cache],
            new StringWriter(), log, new CliEnvironment(), cancellation), log);

    [ConformanceFact]
    public void Generate_cancelled_while_an_engine_is_exported_stops_the_build_and_leaves_no_temporary_folder()
    {
        string cache = Fixtures.TempDir("generate-cancel");
        string output = Path.Combine(Fixtures.TempDir("generate-cancel-out"), "frames");
        using var cancel = new CancellationTokenSource();
        var log = new CancellingLog(cancel, "exporting transformer");
        Assert.Equal(ExitCode.Cancelled, Generate(cache, output, log, cancel.Token));
        Assert.EndsWith("cancelled" + Environment.NewLine, log.ToString());
        Assert.DoesNotContain("built transformer", log.ToString());
        Assert.Empty(Leftovers(cache));
        Assert.StartsWith("text_encoder-", Assert.Single(Entries(cache)));
        Assert.False(Directory.Exists(output), "a cancelled generation wrote its output");

        // the next run finds the finished engine and builds the rest
        using var none = new CancellationTokenSource();
        var again = new CancellingLog(none, "never");
        Assert.Equal(ExitCode.Success, Generate(cache, output, again, none.Token));
        Assert.Contains("engine cache hit: text_encoder", again.ToString());
        Assert.True(Directory.Exists(output));
    }

    [ConformanceFact]
    public void Generate_cancelled_while_waiting_for_another_process_s_build_lock_stops_waiting()
    {
        string cache = Fixtures.TempDir("generate-cancel");
        string output = Path.Combine(Fixtures.TempDir("generate-cancel-out"), "frames");
        using var cancel = new CancellationTokenSource();
        Assert.Equal(ExitCode.Cancelled, Generate(cache, output, new CancellingLog(cancel, "built text_encoder"), cancel.Token));
        // the lock of text_encoder's entry, held as a build in another process holds it, after the entry is removed
        string folder = Assert.Single(Entries(cache));
        Directory.Delete(Path.Combine(cache, folder), recursive: true);
        using var held = new FileStream(Path.Combine(cache, ".locks", folder + ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        using var cancel2 = new CancellationTokenSource();
        var log = new CancellingLog(cancel2, "waiting for another process building text_encoder");
        var run = Task.Run(() => Generate(cache, output, log, cancel2.Token));
        Assert.True(run.Wait(TimeSpan.FromSeconds(60)), "generate kept waiting for the lock after it was cancelled");
        Assert.Equal(ExitCode.Cancelled, run.Result);
        Assert.EndsWith("cancelled" + Environment.NewLine, log.ToString());
        Assert.Empty(Entries(cache));
        Assert.Empty(Leftovers(cache));
        Assert.False(Directory.Exists(output));
    }
}
