using VisualGen.Engines;
using VisualGen.Tests.Support;
using static VisualGen.Tests.Engines.EngineCacheTestSupport;

namespace VisualGen.Tests.Engines;

/// <summary>The verification stamp (verified.json): an entry's files are hashed when built and on the first load after
/// their writes settle; later loads re-hash only files whose size or write time changed.</summary>
public sealed class EngineCacheStampTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-ecs");
    string Root => Path.Combine(_dir, "cache");

    public void Dispose() => Directory.Delete(_dir, true);

    static readonly DateTime HourAgo = DateTime.UtcNow.AddHours(-1);

    /// <summary>Builds an entry for constant 7 and moves its files' write times an hour back (settled).</summary>
    EngineCacheEntry BuildSettled(EngineCache cache, AddConstantBackend backend, string graph)
    {
        var built = cache.GetOrBuild(Request(graph), backend);
        built.Engine.Dispose();
        foreach (var f in built.Manifest.Files.Keys) File.SetLastWriteTimeUtc(Path.Combine(built.Directory, f), HourAgo);
        return built;
    }

    static string StampPath(EngineCacheEntry e) => Path.Combine(e.Directory, EngineVerificationStamp.FileName);

    /// <summary>Rewrites engine.txt with another constant of the same size and puts its old write time back.</summary>
    static void CorruptKeepingSizeAndTime(EngineCacheEntry e)
    {
        string engine = Path.Combine(e.Directory, "engine.txt");
        var time = File.GetLastWriteTimeUtc(engine);
        File.WriteAllText(engine, "9");
        File.SetLastWriteTimeUtc(engine, time);
    }

    [Fact]
    public void FreshlyBuiltFilesAreHashedOnEveryLoadUntilTheirWritesSettle()
    {
        string graph = AddConstantBackend.WriteGraph(_dir, 7f);
        var cache = new EngineCache(Root);
        var built = cache.GetOrBuild(Request(graph), new AddConstantBackend());
        built.Engine.Dispose();
        var hit = cache.GetOrBuild(Request(graph), new AddConstantBackend());
        using (hit.Engine) Assert.True(hit.Hit);
        // written moments ago: a second write could keep the same time on a coarse file system, so nothing is stamped
        Assert.False(File.Exists(StampPath(built)));
    }

    [Fact]
    public void FirstLoadStampsSettledFilesAndLaterLoadsTrustTheStamp()
    {
        string graph = AddConstantBackend.WriteGraph(_dir, 7f);
        var cache = new EngineCache(Root);
        var backend = new AddConstantBackend();
        var built = BuildSettled(cache, backend, graph);

        var first = cache.GetOrBuild(Request(graph), backend);
        using (first.Engine) Assert.True(first.Hit);
        var stamp = EngineVerificationStamp.Read(built.Directory, built.Manifest.Key, out string? problem);
        Assert.Null(problem);
        Assert.NotNull(stamp);
        Assert.Equal(["engine.txt", "profiles.txt"], stamp.Files.Keys.Order());
        var engineStamp = stamp.Files["engine.txt"];
        Assert.Equal(1, engineStamp.Size);
        Assert.Equal(HourAgo.Ticks, engineStamp.LastWriteTicks);
        Assert.Equal(built.Manifest.Files["engine.txt"], engineStamp.Sha256);

        // same size and write time: the stamp stands for the bytes, so the file is not hashed and the change is not seen
        // (the documented limit of stamps) ...
        CorruptKeepingSizeAndTime(built);
        var trusted = cache.GetOrBuild(Request(graph), backend);
        using (trusted.Engine)
        {
            Assert.True(trusted.Hit);
            Assert.Equal([10f], Run(trusted.Engine, 1f));
        }
        Assert.Equal(1, backend.BuildCount);

        // ... which full verification catches
        var log = new ProgressLog();
        var full = new EngineCache(Root) { VerifyAllFiles = true }.GetOrBuild(Request(graph), backend, log);
        using (full.Engine)
        {
            Assert.False(full.Hit);
            Assert.Equal([8f], Run(full.Engine, 1f));
        }
        Assert.Equal(2, backend.BuildCount);
        Assert.Contains(log.Lines, l => l.StartsWith($"corrupt entry {built.Directory}: file 'engine.txt' has SHA-256"));
    }

    [Theory]
    [InlineData("same-size")]
    [InlineData("other-size")]
    public void ChangedFileAfterTheStampIsHashedAndTheCorruptEntryRebuilt(string change)
    {
        string graph = AddConstantBackend.WriteGraph(_dir, 7f);
        var cache = new EngineCache(Root);
        var backend = new AddConstantBackend();
        var built = BuildSettled(cache, backend, graph);
        cache.GetOrBuild(Request(graph), backend).Engine.Dispose();
        Assert.True(File.Exists(StampPath(built)));

        // a rewrite bumps the write time (and with "other-size" the size)
        File.WriteAllText(Path.Combine(built.Directory, "engine.txt"), change == "same-size" ? "9" : "99");
        var log = new ProgressLog();
        var again = cache.GetOrBuild(Request(graph), backend, log);
        using (again.Engine)
        {
            Assert.False(again.Hit);
            Assert.Equal([8f], Run(again.Engine, 1f));
        }
        Assert.Equal(2, backend.BuildCount);
        Assert.Contains(log.Lines, l => l.StartsWith($"corrupt entry {built.Directory}: file 'engine.txt' has SHA-256") && l.EndsWith("; rebuilding"));
        Assert.Empty(Leftovers(Root));
    }

    [Fact]
    public void GarbledStampIsReportedAndEveryFileHashed()
    {
        string graph = AddConstantBackend.WriteGraph(_dir, 7f);
        var cache = new EngineCache(Root);
        var backend = new AddConstantBackend();
        var built = BuildSettled(cache, backend, graph);
        cache.GetOrBuild(Request(graph), backend).Engine.Dispose();
        File.WriteAllText(StampPath(built), "{\"key\": ");
        CorruptKeepingSizeAndTime(built);

        var log = new ProgressLog();
        var again = cache.GetOrBuild(Request(graph), backend, log);
        using (again.Engine) Assert.Equal([8f], Run(again.Engine, 1f));
        Assert.False(again.Hit);
        Assert.Contains(log.Lines, l => l.StartsWith($"engine cache: ignoring the verification stamp of {built.Directory}: verified.json is unreadable"));
        Assert.Contains(log.Lines, l => l.StartsWith($"corrupt entry {built.Directory}: file 'engine.txt' has SHA-256"));
    }

    [Fact]
    public void StampOfAnotherKeyDoesNotApply()
    {
        string graph = AddConstantBackend.WriteGraph(_dir, 7f);
        var cache = new EngineCache(Root);
        var backend = new AddConstantBackend();
        var built = BuildSettled(cache, backend, graph);
        cache.GetOrBuild(Request(graph), backend).Engine.Dispose();
        var stamp = EngineVerificationStamp.Read(built.Directory, built.Manifest.Key, out _)!;
        (stamp with { Key = new string('0', 64) }).Write(built.Directory);
        CorruptKeepingSizeAndTime(built);

        var log = new ProgressLog();
        var again = cache.GetOrBuild(Request(graph), backend, log);
        using (again.Engine) Assert.False(again.Hit);
        Assert.Contains(log.Lines, l => l.Contains($"verified.json belongs to key {new string('0', 64)}"));
    }

    [Fact]
    public void BackendMayNotWriteTheStamp()
    {
        string graph = AddConstantBackend.WriteGraph(_dir, 1f);
        var e = Assert.Throws<EngineException>(() => new EngineCache(Root).GetOrBuild(Request(graph), new StampWritingBackend()));
        Assert.Equal("backend stamping wrote verified.json, which the engine cache owns", e.Message);
        Assert.Empty(Entries(Root));
        Assert.Empty(Leftovers(Root));
    }

    sealed class StampWritingBackend : IEngineBackend
    {
        public string Name => "stamping";
        public string Version => "1";
        public string Device => "cpu";
        public IReadOnlyList<string> Build(string onnxPath, string entryDirectory, EngineBuildOptions options)
        {
            File.WriteAllText(Path.Combine(entryDirectory, "engine.txt"), "1");
            File.WriteAllText(Path.Combine(entryDirectory, EngineVerificationStamp.FileName), "{}");
            return ["engine.txt"];
        }
        public IEngine Load(string entryDirectory, EngineManifest manifest) => throw new InvalidOperationException("never loaded");
    }
}
