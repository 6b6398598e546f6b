using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Engines.OnnxRuntime;
using VisualGen.Exporter.Export;
using VisualGen.Tensors;
using VisualGen.Tests.Engines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Export;

/// <summary>The weight fingerprint in the engine cache key covers every byte of every weight file: a same-size edit
/// between the first and last 64 KiB (with the write time bumped or put back) changes the cache key and rebuilds with
/// the new weights; the per-file hash memo in the cache makes a second run read no weight bytes, a garbled memo is
/// recomputed, and a copied checkpoint gives the same fingerprint (and hits after one trace).</summary>
public sealed class WeightFingerprintTests : IDisposable
{
    const int Padding = 20_000; // 80 KB tensors around w: w lies beyond the first 64 KiB and before the last 64 KiB
    readonly string _dir = Fixtures.TempDir("vg-wfp");
    readonly TinyAddModel _model;
    string Root => Path.Combine(_dir, "cache");
    static readonly float[] W = [1f, 2f, 3f, 4f];
    static readonly float[] Edited = [100f, 200f, 300f, 400f];

    public WeightFingerprintTests() => _model = new TinyAddModel(Path.Combine(_dir, "model"), W, Padding);

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>Waits until the weight file's last change is older than FileState.SettleTime, so the memo records it
    /// (the test files were just created: their change time is now, whatever write time the test set).</summary>
    static void LetFilesSettle() => Thread.Sleep(FileState.SettleTime + TimeSpan.FromMilliseconds(200));

    (EngineProvider.ComponentReport Report, float[] Y, ProgressLog Log) Prepare(TinyAddModel? model = null)
    {
        model ??= _model;
        var log = new ProgressLog();
        using var provider = new EngineProvider(new EngineCache(Root), new OrtBackend(), model.Registry());
        var (engine, report) = provider.Prepare(model.Directory, "transformer", log);
        var y = engine.Run(new Dictionary<string, HostTensor> { ["x"] = HostTensor.Float32([10f, 20f, 30f, 40f], 4) })["y"].Floats;
        return (report, y, log);
    }

    WeightFingerprint.Result Compute(string? componentDir = null, ProgressLog? log = null) =>
        WeightFingerprint.Compute(componentDir ?? _model.ComponentDirectory, new WeightHashMemo(Root), log, "transformer");

    static byte[] Slice(byte[] b, long from, long count) => b.AsSpan((int)from, (int)count).ToArray();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SameSizeEditBetweenHeadAndTailRebuildsWithTheNewWeights(bool restoreWriteTime)
    {
        Assert.True(WeightFileStamp.Of(_model.WeightsPath) is not null, "statx gives no change time here");
        LetFilesSettle();
        var first = Prepare();
        Assert.Equal([11f, 22f, 33f, 44f], first.Y);
        Assert.True(File.Exists(new WeightHashMemo(Root).PathOf(Path.GetFullPath(_model.WeightsPath)))); // the memo holds the old hash

        var before = File.ReadAllBytes(_model.WeightsPath);
        var stateBefore = FileState.Of(_model.WeightsPath);
        long at = _model.WeightsOffset();
        Assert.True(at > 8 + 65536 && at + 16 < before.Length - 65536, $"w at {at} of {before.Length} bytes is not between head and tail");
        _model.EditWeightsInPlace(Edited);
        if (restoreWriteTime) File.SetLastWriteTimeUtc(_model.WeightsPath, TinyAddModel.Settled);
        var after = File.ReadAllBytes(_model.WeightsPath);
        Assert.Equal(before.Length, after.Length);
        Assert.Equal(Slice(before, 0, 8 + 65536), Slice(after, 0, 8 + 65536));
        Assert.Equal(Slice(before, before.Length - 65536, 65536), Slice(after, after.Length - 65536, 65536));
        Assert.NotEqual(before, after);
        Assert.Equal(restoreWriteTime, FileState.Of(_model.WeightsPath) == stateBefore);

        var second = Prepare();
        Assert.Equal(2, _model.Traces);
        Assert.False(second.Report.Hit);
        Assert.NotEqual(first.Report.EntryDirectory, second.Report.EntryDirectory);
        Assert.Equal([110f, 220f, 330f, 440f], second.Y);
        Assert.Contains(second.Log.Lines, l => l.StartsWith("hashing weights of transformer: 0.2 MB (1 file)"));
    }

    [Fact]
    public void StampAgreesWithFileInfoAndSeesARestoredWriteTime()
    {
        var first = WeightFileStamp.Of(_model.WeightsPath) ?? throw new InvalidOperationException("statx gives no change time here");
        var info = new FileInfo(_model.WeightsPath);
        Assert.Equal(info.Length, first.Size);
        Assert.Equal(info.LastWriteTimeUtc.Ticks, first.LastWriteTicks);
        Assert.True(first.ChangeTicks > first.LastWriteTicks); // the write time was set an hour back after the write

        Thread.Sleep(20);
        _model.EditWeightsInPlace(Edited);
        File.SetLastWriteTimeUtc(_model.WeightsPath, TinyAddModel.Settled);
        var edited = WeightFileStamp.Of(_model.WeightsPath)!.Value;
        Assert.Equal((first.Size, first.LastWriteTicks, first.Device, first.Inode), (edited.Size, edited.LastWriteTicks, edited.Device, edited.Inode));
        Assert.True(edited.ChangeTicks > first.ChangeTicks);
        Assert.False(edited.IsSettled(DateTime.UtcNow));
        Assert.True(edited.IsSettled(DateTime.UtcNow + FileState.SettleTime));

        _model.WriteWeights(W); // a new file renamed over the old one
        Assert.NotEqual(first.Inode, WeightFileStamp.Of(_model.WeightsPath)!.Value.Inode);
    }

    [Fact]
    public void SecondRunReadsNoWeightBytesAndUsesTheMemo()
    {
        LetFilesSettle();
        long size = new FileInfo(_model.WeightsPath).Length;
        var log = new ProgressLog();
        var first = Compute(log: log);
        Assert.Equal(size, first.BytesHashed);
        Assert.Equal(1, first.FilesHashed);
        Assert.Equal(size, first.WeightBytes);
        Assert.Equal(WeightFingerprint.Of(_model.ComponentDirectory), first.Value); // the memo does not change the value
        Assert.Contains(log.Lines, l => l == "hashing weights of transformer: 0.2 MB (1 file)");

        var second = Compute(log: log = new ProgressLog());
        Assert.Equal(0, second.BytesHashed);
        Assert.Equal(0, second.FilesHashed);
        Assert.Equal(first.Value, second.Value);
        Assert.DoesNotContain(log.Lines, l => l.StartsWith("hashing weights"));

        // the value comes from the record: another hash in it gives another fingerprint
        var memo = new WeightHashMemo(Root);
        string record = memo.PathOf(Path.GetFullPath(_model.WeightsPath));
        string text = File.ReadAllText(record);
        string sha = FileDigest.Of(_model.WeightsPath);
        Assert.Contains(sha, text);
        File.WriteAllText(record, text.Replace(sha, new string('0', 64)));
        Assert.NotEqual(first.Value, Compute().Value);

        // through the provider: the second Prepare hashes nothing
        File.WriteAllText(record, text);
        Prepare();
        var again = Prepare();
        Assert.True(again.Report.Hit);
        Assert.Equal(1, _model.Traces);
        Assert.DoesNotContain(again.Log.Lines, l => l.StartsWith("hashing weights") || l.StartsWith("weight hash memo"));
    }

    [Fact]
    public void FreshFilesAreHashedButNotRecorded()
    {
        var log = new ProgressLog();
        var first = Compute(log: log); // created moments ago: the change time may not yet tell a second write apart
        Assert.Contains(log.Lines, l => l.StartsWith($"weight hash memo: not recording {Path.GetFullPath(_model.WeightsPath)}: written less than 2 s ago"));
        Assert.False(Directory.Exists(new WeightHashMemo(Root).Directory) && Directory.EnumerateFiles(new WeightHashMemo(Root).Directory).Any());
        Assert.Equal(first.BytesHashed, Compute().BytesHashed);
    }

    [Theory]
    [InlineData("garbled", "is unreadable")]
    [InlineData("empty", "is unreadable")]
    [InlineData("bad-hash", "is not a record of visualgen-weight-hash/2")]
    public void GarbledMemoIsRecomputed(string damage, string reported)
    {
        LetFilesSettle();
        var first = Compute();
        string record = new WeightHashMemo(Root).PathOf(Path.GetFullPath(_model.WeightsPath));
        string text = File.ReadAllText(record);
        File.WriteAllText(record, damage switch
        {
            "garbled" => text[..(text.Length / 2)],
            "empty" => "",
            _ => text.Replace(FileDigest.Of(_model.WeightsPath), "not-a-hash"),
        });

        var log = new ProgressLog();
        var again = Compute(log: log);
        Assert.Equal(first.Value, again.Value);
        Assert.Equal(first.BytesHashed, again.BytesHashed);
        Assert.Contains(log.Lines, l => l.StartsWith($"weight hash record {record} {reported}") && l.EndsWith($"; hashing {Path.GetFullPath(_model.WeightsPath)} again"));
        Assert.Equal(0, Compute().BytesHashed); // rewritten
        Assert.Empty(Directory.GetFiles(new WeightHashMemo(Root).Directory, ".*"));
    }

    [Fact]
    public void CopiedCheckpointHasTheSameFingerprintAndHitsAfterOneTrace()
    {
        var first = Prepare();
        var copy = new TinyAddModel(Path.Combine(_dir, "elsewhere", "model"), [9f, 9f, 9f, 9f], Padding);
        foreach (var f in new[] { "model_index.json", "transformer/config.json", "transformer/diffusion_pytorch_model.safetensors" })
            File.Copy(Path.Combine(_model.Directory, f), Path.Combine(copy.Directory, f), overwrite: true);
        File.SetLastWriteTimeUtc(copy.WeightsPath, DateTime.UtcNow.AddDays(-3));

        Assert.Equal(Compute().Value, Compute(copy.ComponentDirectory).Value);
        var there = Prepare(copy);
        Assert.Equal(1, copy.Traces); // a new path is a new source key: traced once
        Assert.True(there.Report.Hit);
        Assert.Equal(first.Report.EntryDirectory, there.Report.EntryDirectory);
        Assert.Equal([11f, 22f, 33f, 44f], there.Y);
    }

    [Fact]
    public void EveryByteOfEveryShardAndTheIndexCounts()
    {
        string dir = Path.Combine(_dir, "sharded");
        Directory.CreateDirectory(dir);
        var rng = new Random(5);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => rng.NextSingle()).ToArray();
        SafeTensorsWriter.Write(Path.Combine(dir, "model-00001-of-00002.safetensors"), [TensorData.Float32("a", [50_000], Values(50_000))]);
        SafeTensorsWriter.Write(Path.Combine(dir, "model-00002-of-00002.safetensors"), [TensorData.Float32("b", [50_000], Values(50_000))]);
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"),
            "{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\", \"b\": \"model-00002-of-00002.safetensors\"}}");
        File.WriteAllText(Path.Combine(dir, "config.json"), "{}");
        string baseline = WeightFingerprint.Of(dir);

        void FlipAndCheck(string file, long at)
        {
            string path = Path.Combine(dir, file);
            var bytes = File.ReadAllBytes(path);
            bytes[at] ^= 0x10;
            File.WriteAllBytes(path, bytes);
            Assert.NotEqual(baseline, WeightFingerprint.Of(dir));
            bytes[at] ^= 0x10;
            File.WriteAllBytes(path, bytes);
            Assert.Equal(baseline, WeightFingerprint.Of(dir));
        }
        long size = new FileInfo(Path.Combine(dir, "model-00002-of-00002.safetensors")).Length;
        FlipAndCheck("model-00001-of-00002.safetensors", size / 2);
        FlipAndCheck("model-00002-of-00002.safetensors", size / 2);
        FlipAndCheck("model-00002-of-00002.safetensors", size - 1);
        FlipAndCheck("model.safetensors.index.json", 5);
        FlipAndCheck("config.json", 0);

        // independent of the folder's path and of write times
        string moved = Path.Combine(_dir, "moved");
        Directory.Move(dir, moved);
        foreach (var f in Directory.GetFiles(moved)) File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddDays(-10));
        Assert.Equal(baseline, WeightFingerprint.Of(moved));
        // a file's hash is its FileDigest: SHA-256 of the digest's kind, the length and the SHA-256 of each 64 MiB chunk
        Assert.Equal(FileDigestTests.Reference(File.ReadAllBytes(Path.Combine(moved, "model-00001-of-00002.safetensors"))),
            FileDigest.Of(Path.Combine(moved, "model-00001-of-00002.safetensors")));
    }
}
