using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Models.Wan.Vae;
using VisualGen.Pipelines.Wan;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Models;

/// <summary>
/// The Wan VAE on small random checkpoints of our own configs (other base_dim, dim_mult, num_res_blocks, z_dim,
/// decoder_base_dim, patch size): shape rules, determinism, causality, and agreement between three ways of running
/// it that share no cache logic — one latent frame per chunk (diffusers), two per chunk, and the single-pass graph.
/// </summary>
public class WanVaeChunkingTests
{
    static WanVaeRandomCheckpoint Plain() => new()
    {
        BaseDim = 4, ZDim = 4, DimMult = [1, 2, 3], NumResBlocks = 2, TemperalDownsample = [true, true],
    };

    static WanVaeRandomCheckpoint Residual() => new()
    {
        BaseDim = 4, DecoderBaseDim = 6, ZDim = 8, DimMult = [1, 2, 2], NumResBlocks = 1, TemperalDownsample = [true, true],
        IsResidual = true, PatchSize = 2,
    };

    public static TheoryData<string> Variants => ["plain", "residual"];

    static string Checkpoint(string variant) =>
        (variant == "plain" ? Plain() : Residual()).Write(Fixtures.TempDir("wanvae"), seed: variant.Length);

    static HostTensor Random(int seed, params long[] shape)
    {
        var rng = new Random(seed);
        var v = new float[shape.Aggregate(1L, (a, b) => a * b)];
        for (int i = 0; i < v.Length; i++) v[i] = 2 * rng.NextSingle() - 1;
        return HostTensor.Float32(v, shape);
    }

    static void Close(HostTensor expected, HostTensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        double err = Compare.MaxAbs(expected.Floats, actual.Floats);
        Assert.True(err <= 2e-5, $"{what}: max abs difference {err:g3}");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Decode_chunkings_and_single_pass_agree_and_follow_the_shape_rule(string variant)
    {
        string dir = Checkpoint(variant);
        var config = WanVaeConfig.Read(dir);
        using var vae = new WanVaeEngines(dir);
        var first = vae.Decoder(WanChunk.First);
        var next = vae.Decoder(WanChunk.Next);
        // dim_mult [1, 2, x] with two temporal stages: ×4 in time, ×4 in space (×2 more with patch size 2)
        int s = 4 * (config.PatchSize ?? 1);
        var latents = Random(1, 1, config.ZDim, 4, 3, 2);

        var byOne = new WanVaeDecoder(first, next, 1).Decode(latents);
        Assert.Equal(new long[] { 1, 3, 1 + 4 * 3, 3 * s, 2 * s }, byOne.Shape);
        Assert.All(byOne.Floats, v => Assert.InRange(v, -1f, 1f));
        Assert.Contains(byOne.Floats, v => v is > -1f and < 1f);

        Close(byOne, new WanVaeDecoder(first, next, 2).Decode(latents), "2 latent frames per chunk vs 1");
        Close(byOne, new WanVaeDecoder(first, next, 3).Decode(latents), "3 latent frames per chunk vs 1");
        var single = vae.Decoder(WanChunk.Full).Run(new Dictionary<string, HostTensor> { ["latents"] = latents })["sample"];
        Close(byOne, single, "single pass vs chunked");

        // deterministic, and causal: the first 2 latent frames decode to the same first 5 frames
        Assert.Equal(byOne.Floats, new WanVaeDecoder(first, next, 1).Decode(latents).Floats);
        var prefix = new WanVaeDecoder(first, next, 1).Decode(VideoFrames.Slice(latents, 0, 2));
        Close(VideoFrames.Slice(byOne, 0, 5), prefix, "decode of a latent prefix");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Encode_chunkings_and_single_pass_agree_and_follow_the_shape_rule(string variant)
    {
        string dir = Checkpoint(variant);
        var config = WanVaeConfig.Read(dir);
        using var vae = new WanVaeEngines(dir);
        var first = vae.Encoder(WanChunk.First);
        var next = vae.Encoder(WanChunk.Next);
        int s = 4 * (config.PatchSize ?? 1);
        var video = Random(2, 1, 3, 9, 2 * s, 3 * s);

        var byOne = new WanVaeEncoder(first, next, 1).Encode(video);
        Assert.Equal(new long[] { 1, config.ZDim, 3, 2, 3 }, byOne.Shape);
        Close(byOne, new WanVaeEncoder(first, next, 2).Encode(video), "8 frames per chunk vs 4");
        var single = vae.Encoder(WanChunk.Full).Run(new Dictionary<string, HostTensor> { ["video"] = video })["latent_mean"];
        Close(byOne, single, "single pass vs chunked");
        var prefix = new WanVaeEncoder(first, next, 1).Encode(VideoFrames.Slice(video, 0, 5));
        Close(VideoFrames.Slice(byOne, 0, 2), prefix, "encode of a video prefix");

        var bad = Assert.Throws<ArgumentException>(() => new WanVaeEncoder(first, next).Encode(VideoFrames.Slice(video, 0, 6)));
        Assert.Contains("1 + 4k frames", bad.Message);
    }

    /// <summary>A plain engine (no resident tensors of its own): the chunk loop runs it through the host adapter
    /// (<see cref="ResidentEngines.AsResident"/>).</summary>
    sealed class HostOnly(IEngine inner) : IEngine
    {
        public EngineManifest Manifest => inner.Manifest;
        public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs) => inner.Run(inputs);
        public void Dispose() { }
    }

    /// <summary>A resident engine that records which tensors it was given and handed out, and which were disposed.</summary>
    sealed class Tracking(IResidentEngine inner, List<Tracked> handedOut, List<IEngineTensor> given) : IResidentEngine
    {
        public EngineManifest Manifest => inner.Manifest;
        public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs) => throw new InvalidOperationException("the resident loop must not run on host tensors");
        public IEngineTensor Upload(HostTensor t) => inner.Upload(t);
        public ITensorArithmetic Arithmetic => inner.Arithmetic;
        public IReadOnlyDictionary<string, IEngineTensor> RunResident(IReadOnlyDictionary<string, IEngineTensor> inputs)
        {
            given.AddRange(inputs.Values);
            var r = inner.RunResident(inputs.ToDictionary(kv => kv.Key, kv => kv.Value is Tracked t ? t.Inner : kv.Value));
            return r.ToDictionary(kv => kv.Key, kv => { var t = new Tracked(kv.Value); handedOut.Add(t); return (IEngineTensor)t; });
        }
        public void Dispose() { }
    }

    sealed class Tracked(IEngineTensor inner) : IEngineTensor
    {
        public IEngineTensor Inner { get; } = inner;
        public bool Disposed { get; private set; }
        public long[] Shape => Inner.Shape;
        public TensorDType DType => Inner.DType;
        public HostTensor ToHost() => Disposed ? throw new ObjectDisposedException("tensor") : Inner.ToHost();
        public void Dispose() { Disposed = true; Inner.Dispose(); }
    }

    [Fact]
    public void Resident_chunk_loop_hands_each_call_the_previous_cache_and_matches_a_plain_engine()
    {
        string dir = Checkpoint("plain");
        using var vae = new WanVaeEngines(dir);
        var first = vae.Decoder(WanChunk.First).AsResident();
        var next = vae.Decoder(WanChunk.Next).AsResident();
        var latents = Random(1, 1, 4, 4, 3, 2);
        var handedOut = new List<Tracked>();
        var given = new List<IEngineTensor>();
        var resident = new WanVaeDecoder(new Tracking(first, handedOut, given), new Tracking(next, handedOut, given)).Decode(latents);
        var host = new WanVaeDecoder(new HostOnly(first), new HostOnly(next)).Decode(latents);
        Assert.Equal(host.Shape, resident.Shape);
        Assert.Equal(host.Floats, resident.Floats);
        // 4 calls; every cache output of calls 1-3 is an input of the following call, and nothing is left undisposed
        var caches = handedOut.Where(t => t != handedOut.Last() && t.Shape.Length == 5).ToList();
        Assert.True(caches.Count > 0);
        int cachesPerCall = handedOut.Count / 4 - 1;
        Assert.Equal(3 * cachesPerCall, handedOut.Take(3 * (cachesPerCall + 1)).Count(t => given.Contains(t)));
        Assert.All(handedOut, t => Assert.True(t.Disposed));
    }

    [Fact]
    public void The_next_chunk_engine_is_asked_for_after_the_first_chunk_has_run_and_never_for_one_frame()
    {
        // a pipeline's engines load when asked for: a GPU memory budget must see the first chunk's cache beside the
        // next-chunk engine, so the decoder asks for it only once that cache exists
        string dir = Checkpoint("plain");
        using var vae = new WanVaeEngines(dir);
        var first = vae.Decoder(WanChunk.First).AsResident();
        var next = vae.Decoder(WanChunk.Next);
        var handedOut = new List<Tracked>();
        var given = new List<IEngineTensor>();
        int asked = 0, firstRunsWhenAsked = -1;
        IEngine Next()
        {
            asked++;
            firstRunsWhenAsked = handedOut.Count;
            return new Tracking(next.AsResident(), handedOut, given);
        }
        var latents = Random(1, 1, 4, 4, 3, 2);
        var lazy = new WanVaeDecoder(new Tracking(first, handedOut, given), Next).Decode(latents);
        Assert.Equal(1, asked);
        Assert.True(firstRunsWhenAsked > 0, "the first chunk's outputs existed when the next-chunk engine was asked for");
        Assert.Equal(new WanVaeDecoder(first, next).Decode(latents).Floats, lazy.Floats);
        // one latent frame: the first chunk alone
        asked = 0;
        new WanVaeDecoder(first, Next).Decode(VideoFrames.Slice(latents, 0, 1));
        Assert.Equal(0, asked);
    }

    [Fact]
    public void Checkpoint_config_mismatches_are_named()
    {
        string dir = Plain().Write(Fixtures.TempDir("wanvae"), seed: 3);
        using var weights = SafeTensorsFile.Open(Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
        string config = Path.Combine(dir, "config.json");
        string text = File.ReadAllText(config);

        File.WriteAllText(config, text.Replace("\"num_res_blocks\":2", "\"num_res_blocks\":1"));
        var unused = Assert.Throws<CheckpointException>(() => AutoencoderKLWan.TraceDecoder(dir, weights, WanChunk.First));
        Assert.Contains("not used by the model definition", unused.Message);

        File.WriteAllText(config, text.Replace("\"num_res_blocks\":2", "\"num_res_blocks\":3"));
        var missing = Assert.Throws<CheckpointException>(() => AutoencoderKLWan.TraceEncoder(dir, weights, WanChunk.Next));
        Assert.Contains("missing weight 'encoder.down_blocks.", missing.Message);

        File.WriteAllText(config, text.Replace("\"attn_scales\":[]", "\"attn_scales\":[1.0]"));
        var attn = Assert.Throws<CheckpointException>(() => AutoencoderKLWan.TraceDecoder(dir, weights, WanChunk.Full));
        Assert.Contains("attn_scales", attn.Message);
    }

    [Fact]
    public void Latent_statistics_invert_each_other_per_channel()
    {
        var stats = new WanLatentStats([0.5f, -1f], [2f, 0.25f]);
        var x = HostTensor.Float32([1, 2, 3, 4], 1, 2, 2, 1, 1);
        var d = stats.Denormalize(x);
        Assert.Equal(new[] { 1 * 2f + 0.5f, 2 * 2f + 0.5f, 3 * 0.25f - 1f, 4 * 0.25f - 1f }, d.Floats);
        var back = stats.Normalize(d);
        for (int i = 0; i < 4; i++) Assert.Equal(x.Floats[i], back.Floats[i], 6);
        Assert.Throws<ArgumentException>(() => stats.Denormalize(HostTensor.Zeros(1, 3, 1, 1, 1)));
    }
}
