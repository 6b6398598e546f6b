using VisualGen.Engines;
using VisualGen.Engines.OnnxRuntime;
using VisualGen.Exporter.Export;
using VisualGen.Tensors;
using VisualGen.Tests.Engines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Export;

/// <summary>EngineProvider's key index: a hit in a new provider (as in a new process) looks the cache key up by the
/// component's source key and traces nothing; any change of a key part traces again and misses; a garbled or stale
/// record, or a missing or corrupt entry, falls back to tracing (and says so).</summary>
public sealed class EngineKeyIndexTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-eki");
    readonly TinyAddModel _model;
    string Root => Path.Combine(_dir, "cache");
    static readonly float[] W = [1f, 2f, 3f, 4f];

    public EngineKeyIndexTests() => _model = new TinyAddModel(Path.Combine(_dir, "model"), W);

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>A provider over a fresh EngineCache object on the shared root: what a new process has.</summary>
    EngineProvider Provider(IEngineBackend? backend = null, EngineBuildOptions? options = null) =>
        new(new EngineCache(Root), backend ?? new OrtBackend(), _model.Registry(), options);

    static float[] Run(IEngine engine) =>
        engine.Run(new Dictionary<string, HostTensor> { ["x"] = HostTensor.Float32([10f, 20f, 30f, 40f], 4) })["y"].Floats;

    (EngineProvider.ComponentReport Report, float[] Y, ProgressLog Log) Prepare(IEngineBackend? backend = null, EngineBuildOptions? options = null)
    {
        var log = new ProgressLog();
        using var provider = Provider(backend, options);
        var (engine, report) = provider.Prepare(_model.Directory, "transformer", log);
        return (report, Run(engine), log);
    }

    string[] Records() => Directory.Exists(Path.Combine(Root, EngineKeyIndex.FolderName))
        ? Directory.GetFiles(Path.Combine(Root, EngineKeyIndex.FolderName), "*.json") : [];

    [Fact]
    public void SecondPrepareHitsWithoutTracing()
    {
        var first = Prepare();
        Assert.False(first.Report.Hit);
        Assert.Equal(1, _model.Traces);
        Assert.Equal([11f, 22f, 33f, 44f], first.Y);
        Assert.Contains(first.Log.Lines, l => l == "engine key index: no record for transformer; tracing transformer");
        Assert.Single(Records());

        var second = Prepare();
        Assert.True(second.Report.Hit);
        Assert.Equal(1, _model.Traces);
        Assert.Equal([11f, 22f, 33f, 44f], second.Y);
        Assert.Equal(first.Report.Nodes, second.Report.Nodes);
        Assert.Equal(16, second.Report.GraphBytes);
        Assert.Equal(first.Report.EntryDirectory, second.Report.EntryDirectory);
        Assert.DoesNotContain(second.Log.Lines, l => l.StartsWith("engine key index:"));
        Assert.Contains(second.Log.Lines, l => l.StartsWith("engine cache hit: transformer"));
    }

    [Fact]
    public void FreshlyWrittenCheckpointIsNotRecorded()
    {
        _model.WriteWeights(W); // write time now: a second write within the file system's time resolution could keep it
        var first = Prepare();
        Assert.Contains(first.Log.Lines, l => l.StartsWith("engine key index: not recording transformer: a file of ") && l.EndsWith("was written less than 2 s ago"));
        Assert.Empty(Records());
        var second = Prepare();
        Assert.True(second.Report.Hit);
        Assert.Equal(2, _model.Traces);
    }

    public static TheoryData<string> SourceChanges =>
        ["precision", "opset", "profiles", "backend-version", "config", "weights-same-size", "weights-same-size-and-time"];

    [Theory]
    [MemberData(nameof(SourceChanges))]
    public void ChangingAKeyPartTracesAgainAndMisses(string change)
    {
        var first = Prepare();
        Assert.False(first.Report.Hit);
        IEngineBackend backend = new OrtBackend();
        var options = new EngineBuildOptions { Opset = VisualGen.Exporter.Onnx.OnnxWriter.Opset };
        float[] w = W;
        switch (change)
        {
            case "precision": options = options with { Precision = "fp16" }; break;
            case "opset": options = options with { Opset = options.Opset - 1 }; break;
            case "profiles": options = options with { Profiles = new Dictionary<string, ShapeProfile> { ["x"] = new([4], [4], [4]) } }; break;
            case "backend-version": backend = new OtherVersion(backend); break;
            case "config": File.WriteAllText(_model.ConfigPath, "{\"_class_name\": \"TinyAddModel\", \"dim\": 4, \"note\": 1}"); break;
            default:
                // another checkpoint of the same shapes: same size, other bytes, a new write time (or the old one put back)
                w = [5f, 6f, 7f, 8f];
                long size = new FileInfo(_model.WeightsPath).Length;
                _model.WriteWeights(w);
                Assert.Equal(size, new FileInfo(_model.WeightsPath).Length);
                if (change == "weights-same-size-and-time") File.SetLastWriteTimeUtc(_model.WeightsPath, TinyAddModel.Settled);
                break;
        }
        var second = Prepare(backend, options);
        Assert.Equal(2, _model.Traces);
        Assert.False(second.Report.Hit);
        Assert.NotEqual(first.Report.EntryDirectory, second.Report.EntryDirectory);
        Assert.Equal([10f + w[0], 20f + w[1], 30f + w[2], 40f + w[3]], second.Y);
        Assert.Contains(second.Log.Lines, l => l == "engine key index: no record for transformer; tracing transformer");
    }

    /// <summary>model_index.json feeds the trace (pipeline settings such as expand_timesteps), so a change traces
    /// again; this graph does not read it, so the traced graph and the entry are the same.</summary>
    [Fact]
    public void ChangedModelIndexTracesAgainAndFindsTheSameGraph()
    {
        var first = Prepare();
        string mi = Path.Combine(_model.Directory, "model_index.json");
        File.WriteAllText(mi, File.ReadAllText(mi).Replace("}", ", \"expand_timesteps\": false}"));
        var second = Prepare();
        Assert.Equal(2, _model.Traces);
        Assert.True(second.Report.Hit);
        Assert.Equal(first.Report.EntryDirectory, second.Report.EntryDirectory);
        Assert.Contains(second.Log.Lines, l => l == "engine key index: no record for transformer; tracing transformer");
    }

    sealed class OtherVersion(IEngineBackend inner) : IEngineBackend
    {
        public string Name => inner.Name;
        public string Version => inner.Version + "-other";
        public string Device => inner.Device;
        public IReadOnlyList<string> Build(string onnxPath, string entryDirectory, EngineBuildOptions options) => inner.Build(onnxPath, entryDirectory, options);
        public IEngine Load(string entryDirectory, EngineManifest manifest) => inner.Load(entryDirectory, manifest);
    }

    [Theory]
    [InlineData("garbled", "is unreadable")]
    [InlineData("empty", "is unreadable")]
    [InlineData("other-graph", "names key")]
    [InlineData("other-component", "does not describe transformer under this source key")]
    public void GarbledOrStaleRecordFallsBackToTracing(string damage, string reported)
    {
        Prepare();
        string record = Assert.Single(Records());
        string text = File.ReadAllText(record);
        File.WriteAllText(record, damage switch
        {
            "garbled" => text[..(text.Length / 2)],
            "empty" => "",
            "other-graph" => System.Text.RegularExpressions.Regex.Replace(text, "\"graphHash\": \"[0-9a-f]+\"", "\"graphHash\": \"0123\""),
            _ => text.Replace("\"component\": \"transformer\"", "\"component\": \"vae\""),
        });

        var again = Prepare();
        Assert.Equal(2, _model.Traces);
        Assert.True(again.Report.Hit); // the entry itself is fine
        Assert.Contains(again.Log.Lines, l => l.StartsWith($"engine key index: record {record} {reported}") && l.EndsWith("; tracing transformer"));
        Assert.Equal([11f, 22f, 33f, 44f], again.Y);

        // the record was rewritten: the next run traces nothing
        var third = Prepare();
        Assert.True(third.Report.Hit);
        Assert.Equal(2, _model.Traces);
    }

    [Fact]
    public void RecordOfAMissingEntryTracesAndRebuilds()
    {
        var first = Prepare();
        Directory.Delete(first.Report.EntryDirectory, recursive: true);
        var again = Prepare();
        Assert.False(again.Report.Hit);
        Assert.Equal(2, _model.Traces);
        Assert.Contains(again.Log.Lines, l => l == "engine key index: the entry of transformer it names is not in the cache; tracing transformer");
        Assert.Equal([11f, 22f, 33f, 44f], again.Y);
    }

    [Fact]
    public void CorruptEntryIsDetectedAndRebuiltAfterItWasStamped()
    {
        var first = Prepare();
        string entry = first.Report.EntryDirectory;
        foreach (var f in Directory.GetFiles(entry)) File.SetLastWriteTimeUtc(f, TinyAddModel.Settled);
        Assert.True(Prepare().Report.Hit); // hashes the settled files and stamps them
        Assert.True(File.Exists(Path.Combine(entry, EngineVerificationStamp.FileName)));

        // flip one byte of the graph in place: same size, new write time
        string onnx = Path.Combine(entry, "model.onnx");
        var bytes = File.ReadAllBytes(onnx);
        bytes[^1] ^= 0x01;
        File.WriteAllBytes(onnx, bytes);

        var again = Prepare();
        Assert.False(again.Report.Hit);
        Assert.Equal(2, _model.Traces);
        Assert.Contains(again.Log.Lines, l => l.StartsWith("engine key index: the entry of transformer it names is not usable (file 'model.onnx' has SHA-256"));
        Assert.Contains(again.Log.Lines, l => l.StartsWith($"corrupt entry {entry}: file 'model.onnx' has SHA-256") && l.EndsWith("; rebuilding"));
        Assert.Equal([11f, 22f, 33f, 44f], again.Y);
        Assert.True(Prepare().Report.Hit);
        Assert.Equal(2, _model.Traces);
    }

    [Fact]
    public void ConcurrentProvidersBuildOnceAndLeaveOneReadableRecord()
    {
        const int n = 4;
        using var start = new Barrier(n);
        var reports = new EngineProvider.ComponentReport[n];
        var threads = Enumerable.Range(0, n).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            using var provider = Provider();
            var (engine, report) = provider.Prepare(_model.Directory, "transformer", null);
            Assert.Equal([11f, 22f, 33f, 44f], Run(engine));
            reports[i] = report;
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal(1, reports.Count(r => !r.Hit));
        Assert.Single(Records());
        Assert.Empty(Directory.GetFiles(Path.Combine(Root, EngineKeyIndex.FolderName), ".*"));
        int traces = _model.Traces;
        Assert.True(Prepare().Report.Hit);
        Assert.Equal(traces, _model.Traces);
    }

    [Fact]
    public void ConcurrentWritersNeverExposeAHalfRecord()
    {
        var index = new EngineKeyIndex(Root);
        var source = new EngineSourceKey
        {
            Component = "transformer", ComponentDirectory = "/m/transformer", FileStates = "", ConfigSha256 = "", ModelIndexSha256 = "",
            WeightFingerprint = "w", ExporterVersion = "e", ExporterCode = "c", Settled = true,
            Target = new EngineKeyParts
            {
                GraphHash = "", WeightFingerprint = "w", Backend = "b", BackendVersion = "v", Device = "d", Precision = "fp32",
                Profiles = "", Opset = 23, ExporterVersion = "e",
            },
        };
        string sourceKey = source.Hash();
        EngineKeyIndex.Record RecordOf(int i) => new()
        {
            SourceKey = sourceKey, Component = "transformer", GraphHash = $"g{i}", Nodes = i, InitializerBytes = i,
            Key = EngineCacheKey.Compute(source.Target with { GraphHash = $"g{i}" }),
        };
        using var stop = new CancellationTokenSource();
        var problems = new List<string>();
        int reads = 0;
        var reader = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (index.Read(source, sourceKey, out var parts, out string problem) is { } r)
                    Assert.Equal($"g{r.Nodes}", parts!.GraphHash);
                else if (!problem.StartsWith("no record")) lock (problems) problems.Add(problem);
                Interlocked.Increment(ref reads);
            }
        });
        reader.Start();
        var writers = Enumerable.Range(0, 4).Select(w => new Thread(() =>
        {
            for (int i = 0; i < 200; i++) index.Write(RecordOf(w * 1000 + i));
        })).ToList();
        writers.ForEach(t => t.Start());
        writers.ForEach(t => t.Join());
        stop.Cancel();
        reader.Join();
        Assert.Empty(problems);
        Assert.True(reads > 0);
        Assert.NotNull(index.Read(source, sourceKey, out _, out _));
        Assert.Equal([index.PathOf(sourceKey)], Directory.GetFiles(index.Directory));
    }

    [Fact]
    public void SourceKeyIsSensitiveToEveryField()
    {
        var parts = new EngineKeyParts
        {
            GraphHash = "", WeightFingerprint = "w", Backend = "b", BackendVersion = "v", Device = "d", Precision = "fp32",
            Profiles = "", Opset = 23, ExporterVersion = "e",
        };
        var key = new EngineSourceKey
        {
            Component = "transformer", ComponentDirectory = "/m/transformer", FileStates = "a 1 2\n", ConfigSha256 = "c",
            ModelIndexSha256 = "m", WeightFingerprint = "w", ExporterVersion = "e", ExporterCode = "x", Target = parts, Settled = true,
        };
        var variants = new[]
        {
            key with { Component = "transformer_2" }, key with { ComponentDirectory = "/n/transformer" },
            key with { FileStates = "a 1 3\n" }, key with { ConfigSha256 = "c2" }, key with { ModelIndexSha256 = "m2" },
            key with { WeightFingerprint = "w2" }, key with { ExporterVersion = "e2" }, key with { ExporterCode = "x2" },
            key with { Target = parts with { Backend = "b2" } }, key with { Target = parts with { BackendVersion = "v2" } },
            key with { Target = parts with { Device = "d2" } }, key with { Target = parts with { Precision = "bf16" } },
            key with { Target = parts with { Profiles = "x=1/1/1" } }, key with { Target = parts with { Opset = 24 } },
            key with { ConfigSha256 = "cm", ModelIndexSha256 = "" },
        };
        Assert.Equal(key.Hash(), (key with { Settled = false }).Hash());
        Assert.Equal(variants.Length + 1, variants.Select(v => v.Hash()).Append(key.Hash()).Distinct().Count());
    }
}
