using VisualGen.Engines;
using VisualGen.Tests.Support;
using static VisualGen.Tests.Engines.EngineCacheTestSupport;

namespace VisualGen.Tests.Engines;

public sealed class EngineCacheTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-ec");
    string Root => Path.Combine(_dir, "cache");

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void SecondRequestHitsWithoutBuilding()
    {
        string graph = AddConstantBackend.WriteGraph(_dir, 2.5f);
        var cache = new EngineCache(Root);
        var first = new AddConstantBackend();
        using (var e = cache.GetOrBuild(Request(graph), first).Engine) Assert.Equal([3.5f, 0.5f], Run(e, 1f, -2f));
        Assert.Equal(1, first.BuildCount);

        var second = new AddConstantBackend();
        var log = new ProgressLog();
        var hit = new EngineCache(Root).GetOrBuild(Request(graph), second, log);
        using (hit.Engine)
        {
            Assert.True(hit.Hit);
            Assert.Equal(0, second.BuildCount);
            Assert.Equal([12.5f], Run(hit.Engine, 10f));
        }
        Assert.Contains(log.Lines, l => l.StartsWith("engine cache hit: transformer"));
        Assert.Equal(["engine.txt", "profiles.txt"], hit.Manifest.Files.Keys.Order());
        Assert.Equal(FileDigest.Of(Path.Combine(hit.Directory, "engine.txt")), hit.Manifest.Files["engine.txt"]);
        Assert.Equal("engine.txt", hit.Manifest.EntryFile);
        Assert.Equal("x", hit.Manifest.Inputs[0].Name);
        Assert.Equal(EngineCacheKey.Compute(hit.Manifest.KeyParts), hit.Manifest.Key);
        Assert.Single(Entries(Root));
        Assert.Empty(Leftovers(Root));
    }

    [Fact]
    public void Only_a_graph_written_for_the_build_is_handed_over_for_the_backend_to_take()
    {
        // OnnxPath: the caller's file, built from and left alone; WriteGraph: written for this build, the backend may take it
        var given = new AddConstantBackend();
        using (new EngineCache(Root).GetOrBuild(Request(AddConstantBackend.WriteGraph(_dir, 1f)), given).Engine) { }
        Assert.Equal(1, given.BuildCount);
        Assert.Empty(given.TakenGraphs);

        string written = "";
        var request = Request(AddConstantBackend.WriteGraph(_dir, 2f)) with
        {
            OnnxPath = null, WriteGraph = () => written = AddConstantBackend.WriteGraph(_dir, 2f),
        };
        var taking = new AddConstantBackend();
        using (var e = new EngineCache(Root).GetOrBuild(request, taking).Engine) Assert.Equal([3f], Run(e, 1f));
        Assert.Equal([written], taking.TakenGraphs);
    }

    [Fact]
    public void A_lock_file_that_cannot_be_opened_fails_at_once_instead_of_waiting_for_a_builder()
    {
        // a read-only cache mount (EROFS) as root gives the same: the lock file cannot be opened, and no process holds it
        string graph = AddConstantBackend.WriteGraph(_dir, 1f);
        var request = Request(graph);
        var backend = new AddConstantBackend();
        var cache = new EngineCache(Root) { LockTimeout = TimeSpan.FromSeconds(2) };
        string folder = Path.GetFileName(cache.EntryDirectory(request, backend));
        Directory.CreateDirectory(Path.Combine(Root, ".locks"));
        File.CreateSymbolicLink(Path.Combine(Root, ".locks", folder + ".lock"), Path.Combine(_dir, "no-such-folder", "x.lock"));

        var log = new ProgressLog();
        var e = Assert.Throws<EngineException>(() => cache.GetOrBuild(request, backend, log));
        Assert.Contains("cannot take the engine cache lock", e.Message);
        Assert.DoesNotContain(log.Lines, l => l.StartsWith("waiting for another process"));
        Assert.Equal(0, backend.BuildCount);
    }

    [Fact]
    public void A_locks_folder_that_cannot_be_made_is_the_lock_error_naming_the_cache()
    {
        // a read-only cache without .locks (an empty mount, or one a copy left it out of) fails where the folder is made;
        // a regular file in its place stands for that as root, which may write anywhere
        string graph = AddConstantBackend.WriteGraph(_dir, 1f);
        Directory.CreateDirectory(Root);
        File.WriteAllText(Path.Combine(Root, ".locks"), "not a folder");
        var backend = new AddConstantBackend();

        var e = Assert.Throws<EngineException>(() => new EngineCache(Root).GetOrBuild(Request(graph), backend));
        Assert.Contains($"cannot take the engine cache lock {Path.Combine(Root, ".locks")}", e.Message);
        Assert.Contains("is the engine cache read-only?", e.Message);
        Assert.Equal(0, backend.BuildCount);
    }

    public static TheoryData<string> KeyChanges => ["opset", "precision", "profiles", "backend-version", "graph", "weights", "exporter"];

    [Theory]
    [MemberData(nameof(KeyChanges))]
    public void ChangingAKeyPartMisses(string change)
    {
        string graph = AddConstantBackend.WriteGraph(_dir, 1f);
        var cache = new EngineCache(Root);
        var backend = new AddConstantBackend();
        var baseRequest = Request(graph);
        cache.GetOrBuild(baseRequest, backend).Engine.Dispose();

        var profile = new Dictionary<string, ShapeProfile> { ["x"] = new([1], [8], [64]) };
        var changedBackend = change == "backend-version" ? new AddConstantBackend("2") : backend;
        var changed = change switch
        {
            "opset" => baseRequest with { Options = baseRequest.Options with { Opset = 24 } },
            "precision" => baseRequest with { Options = baseRequest.Options with { Precision = "bf16" } },
            "profiles" => baseRequest with { Options = baseRequest.Options with { Profiles = profile } },
            "graph" => baseRequest with { GraphHash = "other" },
            "weights" => baseRequest with { WeightFingerprint = "weights-2" },
            "exporter" => baseRequest with { ExporterVersion = "0.2" },
            _ => baseRequest,
        };
        var result = cache.GetOrBuild(changed, changedBackend);
        using (result.Engine) Assert.False(result.Hit);
        Assert.Equal(2, backend.BuildCount + (changedBackend == backend ? 0 : changedBackend.BuildCount));
        Assert.Equal(2, Entries(Root).Length);
        Assert.NotEqual(cache.EntryDirectory(baseRequest, backend), result.Directory);
        if (change == "profiles") Assert.Equal("x=1/8/64", File.ReadAllText(Path.Combine(result.Directory, "profiles.txt")));
    }

    [Fact]
    public void FailedBuildLeavesNoEntryAndNoTempFolder()
    {
        string graph = AddConstantBackend.WriteGraph(_dir, 1f);
        var cache = new EngineCache(Root);
        var e = Assert.Throws<EngineException>(() => cache.GetOrBuild(Request(graph), new AddConstantBackend { FailDuringBuild = true }));
        Assert.Equal("building engine 'transformer' with backend test-add failed: simulated compiler failure", e.Message);
        Assert.Empty(Entries(Root));
        Assert.Empty(Leftovers(Root));

        var good = new AddConstantBackend();
        var r = cache.GetOrBuild(Request(graph), good);
        using (r.Engine) Assert.False(r.Hit);
        Assert.Equal(1, good.BuildCount);
    }

    [Fact]
    public void LeftoverTempFolderOfADeadBuildIsIgnoredAndCleaned()
    {
        string graph = AddConstantBackend.WriteGraph(_dir, 4f);
        var cache = new EngineCache(Root);
        var backend = new AddConstantBackend();
        string folder = Path.GetFileName(cache.EntryDirectory(Request(graph), backend));
        string leftover = Path.Combine(Root, $".tmp-{folder}-999999-{Guid.NewGuid():N}");
        Directory.CreateDirectory(leftover);
        File.WriteAllText(Path.Combine(leftover, "engine.txt"), "half");

        var r = cache.GetOrBuild(Request(graph), backend);
        using (r.Engine) Assert.Equal([5f], Run(r.Engine, 1f));
        Assert.False(Directory.Exists(leftover));
        Assert.Equal([folder], Entries(Root));
    }

    [Fact]
    public void CleanStaleRemovesUnownedLeftoversOfOtherKeys()
    {
        var cache = new EngineCache(Root);
        Directory.CreateDirectory(Path.Combine(Root, $".tmp-vae-0123456789abcdef-4242-{Guid.NewGuid():N}"));
        Directory.CreateDirectory(Path.Combine(Root, $".trash-vae-0123456789abcdef-{Guid.NewGuid():N}"));
        Directory.CreateDirectory(Path.Combine(Root, "unrelated"));
        Assert.Equal(2, cache.CleanStale());
        Assert.Empty(Leftovers(Root));
        Assert.True(Directory.Exists(Path.Combine(Root, "unrelated")));
    }

    [Theory]
    [InlineData("flip-byte")]
    [InlineData("delete-file")]
    [InlineData("delete-manifest")]
    [InlineData("garbage-manifest")]
    public void CorruptEntryIsDetectedAndRebuilt(string damage)
    {
        string graph = AddConstantBackend.WriteGraph(_dir, 7f);
        var cache = new EngineCache(Root);
        var backend = new AddConstantBackend();
        var built = cache.GetOrBuild(Request(graph), backend);
        built.Engine.Dispose();
        string engineFile = Path.Combine(built.Directory, "engine.txt");
        string manifestFile = Path.Combine(built.Directory, EngineCache.ManifestFileName);
        switch (damage)
        {
            case "flip-byte": File.WriteAllText(engineFile, "9"); break;
            case "delete-file": File.Delete(engineFile); break;
            case "delete-manifest": File.Delete(manifestFile); break;
            case "garbage-manifest": File.WriteAllText(manifestFile, "{\"key\": 1"); break;
        }

        var log = new ProgressLog();
        var again = cache.GetOrBuild(Request(graph), backend, log);
        using (again.Engine)
        {
            Assert.False(again.Hit);
            Assert.Equal([8f], Run(again.Engine, 1f));
        }
        Assert.Equal(2, backend.BuildCount);
        string expected = damage switch
        {
            "flip-byte" => "file 'engine.txt' has SHA-256",
            "delete-file" => "file 'engine.txt' is missing",
            "delete-manifest" => "manifest.json is missing",
            _ => "manifest.json is not a valid manifest",
        };
        Assert.Contains(log.Lines, l => l.StartsWith($"corrupt entry {built.Directory}: {expected}") && l.EndsWith("; rebuilding"));
        Assert.Empty(Leftovers(Root));

        var third = cache.GetOrBuild(Request(graph), backend);
        using (third.Engine) Assert.True(third.Hit);
        Assert.Equal(2, backend.BuildCount);
    }

    [Fact]
    public void ConcurrentThreadsBuildOnce()
    {
        string graph = AddConstantBackend.WriteGraph(_dir, 1f);
        var backend = new AddConstantBackend { BuildDelay = TimeSpan.FromMilliseconds(400) };
        const int n = 4;
        using var start = new Barrier(n);
        var results = new EngineCacheEntry[n];
        var threads = Enumerable.Range(0, n).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            results[i] = new EngineCache(Root).GetOrBuild(Request(graph), backend);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal(1, backend.BuildCount);
        Assert.Equal(1, results.Count(r => !r.Hit));
        foreach (var r in results) using (r.Engine) Assert.Equal([3f], Run(r.Engine, 2f));
        Assert.Empty(Leftovers(Root));
    }

    [Fact]
    public void BackendThatReportsAnUnwrittenFile()
    {
        string graph = AddConstantBackend.WriteGraph(_dir, 1f);
        var e = Assert.Throws<EngineException>(() => new EngineCache(Root).GetOrBuild(Request(graph), new LyingBackend()));
        Assert.Equal("backend lying reported file 'missing.bin' for 'transformer' but did not write it", e.Message);
        Assert.Empty(Entries(Root));
        Assert.Empty(Leftovers(Root));
    }

    sealed class LyingBackend : IEngineBackend
    {
        public string Name => "lying";
        public string Version => "1";
        public string Device => "cpu";
        public IReadOnlyList<string> Build(string onnxPath, string entryDirectory, EngineBuildOptions options) => ["missing.bin"];
        public IEngine Load(string entryDirectory, EngineManifest manifest) => throw new InvalidOperationException("never loaded");
    }

    [Fact]
    public void KeyIsStableAndSensitiveToEveryField()
    {
        var parts = new EngineKeyParts
        {
            GraphHash = "g", WeightFingerprint = "w", Backend = "b", BackendVersion = "v", Device = "d",
            Precision = "fp32", Profiles = "", Opset = 23, ExporterVersion = "e",
        };
        string key = EngineCacheKey.Compute(parts);
        Assert.Equal(64, key.Length);
        Assert.Equal(key, EngineCacheKey.Compute(parts with { }));
        var variants = new[]
        {
            parts with { GraphHash = "g2" }, parts with { WeightFingerprint = "w2" }, parts with { Backend = "b2" },
            parts with { BackendVersion = "v2" }, parts with { Device = "d2" }, parts with { Precision = "bf16" },
            parts with { Profiles = "x=1/1/1" }, parts with { Opset = 24 }, parts with { ExporterVersion = "e2" },
            // moving a character between neighbouring fields must change the key too
            parts with { GraphHash = "gw", WeightFingerprint = "" },
        };
        Assert.Equal(variants.Length + 1, variants.Select(EngineCacheKey.Compute).Append(key).Distinct().Count());
    }
}
