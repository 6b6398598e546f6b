using VisualGen.Cli;
using VisualGen.Exporter.Commands;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>Ctrl+C in build and run-component (their token, as <see cref="ConsoleCancellation"/> cancels it): exit 130,
/// "cancelled", and nothing half written in the engine cache or beside the output. Without a handler the process died
/// of the signal and left the export's staging folder and the build's temporary entry in the cache (a gigabyte for a
/// gigabyte of weights), removed only by a later build of the same key or by cache clean.</summary>
public class CliBuildCancellationTests
{
    internal static string[] Leftovers(string cache) =>
        Directory.GetDirectories(cache).Select(Path.GetFileName).Where(n => n!.StartsWith('.') && n is not ".locks" and not ".keys" and not ".weight-hashes").ToArray()!;

    internal static string[] Entries(string cache) =>
        Directory.GetDirectories(cache).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')).Order(StringComparer.Ordinal).ToArray()!;

    static int Build(string cache, CancellingLog log, CancellationToken cancellation) =>
        CommandErrors.Run(() => BuildCommand.Run(["--model", Fixtures.Checkpoint("wan21_t2v"), "--components", "text_encoder,transformer,vae.decoder_first",
            "--cache", cache], new StringWriter(), log, cancellation), log);

    [ConformanceFact]
    public void Build_cancelled_while_a_component_is_exported_keeps_the_built_ones_and_leaves_no_temporary_folder()
    {
        string cache = Fixtures.TempDir("build-cancel");
        using var cancel = new CancellationTokenSource();
        var log = new CancellingLog(cancel, "exporting transformer");
        Assert.Equal(ExitCode.Cancelled, Build(cache, log, cancel.Token));
        Assert.EndsWith("cancelled" + Environment.NewLine, log.ToString());
        Assert.DoesNotContain("vae.decoder_first", log.ToString());
        Assert.Empty(Leftovers(cache));
        var entry = Assert.Single(Entries(cache));
        Assert.StartsWith("text_encoder-", entry);

        // the next build finds the finished component and builds the rest
        using var none = new CancellationTokenSource();
        var again = new CancellingLog(none, "never");
        Assert.Equal(ExitCode.Success, Build(cache, again, none.Token));
        Assert.Contains("engine cache hit: text_encoder", again.ToString());
        Assert.Equal(3, Entries(cache).Length);
    }

    [ConformanceFact]
    public void Build_cancelled_while_waiting_for_another_process_s_lock_stops_waiting()
    {
        // it waited for the lock (up to an hour) whatever the token said
        string cache = Fixtures.TempDir("build-cancel");
        using var cancel = new CancellationTokenSource();
        var first = new CancellingLog(cancel, "built text_encoder");
        Assert.Equal(ExitCode.Cancelled, Build(cache, first, cancel.Token));
        // the lock of text_encoder's entry, held as a build in another process holds it, after the entry is removed
        string folder = Assert.Single(Entries(cache));
        Directory.Delete(Path.Combine(cache, folder), recursive: true);
        using var held = new FileStream(Path.Combine(cache, ".locks", folder + ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        using var cancel2 = new CancellationTokenSource();
        var log = new CancellingLog(cancel2, "waiting for another process building text_encoder");
        var run = Task.Run(() => Build(cache, log, cancel2.Token));
        Assert.True(run.Wait(TimeSpan.FromSeconds(60)), "the build kept waiting for the lock after it was cancelled");
        Assert.Equal(ExitCode.Cancelled, run.Result);
        Assert.EndsWith("cancelled" + Environment.NewLine, log.ToString());
        Assert.Empty(Entries(cache));
        Assert.Empty(Leftovers(cache));
    }

    [ConformanceFact]
    public void Run_component_cancelled_while_its_component_is_exported_writes_nothing()
    {
        string cache = Fixtures.TempDir("run-component-cancel");
        string output = Path.Combine(Fixtures.TempDir("run-component-out"), "out.safetensors");
        using var cancel = new CancellationTokenSource();
        var log = new CancellingLog(cancel, "exporting transformer");
        int rc = CommandErrors.Run(() => RunComponentCommand.Run(["--model", Fixtures.Checkpoint("wan21_t2v"), "--component", "transformer",
            "--inputs", Path.Combine(Fixtures.Family("wan21_t2v"), "golden.safetensors"), "--prefix", "transformer.in.",
            "--output", output, "--engine-cache", cache], new StringWriter(), log, cancel.Token), log);
        Assert.Equal(ExitCode.Cancelled, rc);
        Assert.EndsWith("cancelled" + Environment.NewLine, log.ToString());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(output)!));
        Assert.Empty(Entries(cache));
        Assert.Empty(Leftovers(cache));
    }
}
