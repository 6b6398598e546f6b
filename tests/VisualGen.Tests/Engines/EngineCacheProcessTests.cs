using System.Diagnostics;
using VisualGen.Engines;
using VisualGen.Tests.Support;
using static VisualGen.Tests.Engines.EngineCacheTestSupport;

namespace VisualGen.Tests.Engines;

/// <summary>Cross-process behaviour: separate <c>dotnet</c> processes running <see cref="TestHelperProgram"/>.</summary>
public sealed class EngineCacheProcessTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-ecp");
    string Root => Path.Combine(_dir, "cache");
    string BuildLog => Path.Combine(_dir, "builds.log");

    public void Dispose() => Directory.Delete(_dir, true);

    Process StartBuilder(string graph, int delayMs)
    {
        return Process.Start(Fixtures.DotnetStart(typeof(TestHelperProgram).Assembly.Location, "engine-cache-build", Root, graph,
                                                  delayMs.ToString(), BuildLog))!;
    }

    static string Finish(Process p)
    {
        Task<string> output = p.StandardOutput.ReadToEndAsync(), error = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000), "helper process did not finish in 120 s");
        Assert.True(p.ExitCode == 0, $"helper exited {p.ExitCode}: {error.Result}");
        return output.Result.Trim();
    }

    [Fact]
    public void TwoProcessesBuildOneKeyOnce()
    {
        string graph = AddConstantBackend.WriteGraph(_dir, 1.5f);
        using var a = StartBuilder(graph, 1500);
        using var b = StartBuilder(graph, 1500);
        var lines = new[] { Finish(a), Finish(b) };
        Assert.Single(File.ReadAllLines(BuildLog));
        Assert.Equal(["hit=False y=2.5", "hit=True y=2.5"], lines.Order());
        Assert.Single(Entries(Root));
        Assert.Empty(Leftovers(Root));
    }

    [Fact]
    public void KilledBuilderLeavesNoEntryAndTheNextBuildSucceeds()
    {
        string graph = AddConstantBackend.WriteGraph(_dir, 3f);
        using var p = StartBuilder(graph, 60_000);
        var clock = Stopwatch.StartNew();
        while (!File.Exists(BuildLog) && clock.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(50);
        Assert.True(File.Exists(BuildLog), "helper never started building");
        Assert.Single(Leftovers(Root));
        p.Kill();
        Assert.True(p.WaitForExit(30_000));

        Assert.Empty(Entries(Root));
        var backend = new AddConstantBackend();
        var r = new EngineCache(Root).GetOrBuild(Request(graph), backend);
        using (r.Engine) Assert.Equal([4f], Run(r.Engine, 1f));
        Assert.False(r.Hit);
        Assert.Equal(1, backend.BuildCount);
        Assert.Empty(Leftovers(Root));
    }
}
