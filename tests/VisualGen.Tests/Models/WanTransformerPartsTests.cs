using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Models.Wan;
using VisualGen.Exporter.Quantization;
using VisualGen.Pipelines.Caching;
using VisualGen.Quantization;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

/// <summary>
/// The Wan transformer's on-demand parts (<see cref="TransformerParts"/>) on a random 4-block checkpoint the test
/// builds (2 heads of 8, ffn 24, text dim 12, freq dim 16): composed they give the whole transformer and diffusers'
/// math (the float64 <see cref="WanTransformerReference"/>), and Cache-DiT's DBCache run on them equals a reference the
/// test composes from the same part engines by hand, with its skip decisions taken from the documented rule.
/// </summary>
public sealed class WanTransformerPartsTests : IDisposable
{
    static readonly WanTransformerTestConfig Config = new(Heads: 2, HeadDim: 8, Layers: 4, FfnDim: 24, TextDim: 12, FreqDim: 16,
        InChannels: 4, OutChannels: 4, Patch: [1, 2, 2], RopeMaxSeqLen: 16, Eps: 1e-6);
    const int Batch = 2, Frames = 2, Height = 4, Width = 6, TextLen = 5;

    readonly ITestOutputHelper _output;
    readonly string _dir = Fixtures.TempDir("wanparts");
    readonly Dictionary<string, IEngine> _engines = [];
    readonly Random _rng = new(31);
    readonly Dictionary<string, float[]> _weights;
    readonly HostTensor _text;

    public WanTransformerPartsTests(ITestOutputHelper output)
    {
        _output = output;
        var weights = WanTransformerReferenceTests.RandomWeights(Config, _rng);
        WanTransformerReferenceTests.WriteCheckpoint(_dir, Config, weights);
        _weights = weights.ToDictionary(t => t.Name, t => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.Bytes.Span).ToArray());
        _text = HostTensor.Float32(Uniform(Batch * TextLen * Config.TextDim), Batch, TextLen, Config.TextDim);
    }

    IEngine Engine(string part)
    {
        if (_engines.TryGetValue(part, out var e)) return e;
        using var source = ComponentWeights.Open(_dir);
        var graph = part.Length == 0 ? WanTransformer3D.Trace(_dir, source) : WanTransformer3D.TracePart(_dir, source, false, part);
        return _engines[part] = OrtTestEngine.Build(graph, part.Length == 0 ? "transformer" : "transformer." + part);
    }

    HostTensor Latents() => HostTensor.Float32(Uniform(Batch * Config.InChannels * Frames * Height * Width), Batch, Config.InChannels, Frames, Height, Width);

    static HostTensor Timestep(float t) => HostTensor.Float32([t, t], Batch);

    [Fact]
    public void Parts_compose_to_the_whole_transformer_and_the_float64_reference()
    {
        var x = Latents();
        var t = HostTensor.Float32([850f, 320f], Batch);   // rows at different times: each part must keep them apart
        var parts = new EngineParts(Engine, x, t, _text, Config.Layers);
        var hidden = parts.Embed();
        Assert.Equal([Batch, Frames, Height / 2, Width / 2, (long)Config.Dim], hidden.Shape);
        Assert.IsType<HostResidentTensor>(hidden);
        foreach (var (from, to) in new[] { (0, 1), (1, 3), (3, 4) }) hidden = parts.Blocks(from, to, hidden);
        var composed = parts.Output(hidden).ToHost().Floats;
        var whole = parts.Whole().ToHost().Floats;
        var reference = new WanTransformerReference(Config, _weights)
            .Forward(x.Floats, Batch, Frames, Height, Width, t.Floats, false, _text.Floats, TextLen).Select(v => (float)v).ToArray();
        _output.WriteLine($"parts vs whole: max abs {Compare.MaxAbs(whole, composed):g3}; parts vs float64: {Compare.MaxAbs(reference, composed):g3}");
        Compare.Component(reference, composed, "wan parts composed");
        Compare.Component(whole, composed, "wan parts vs whole graph", factor: 1e-5);
        // temb of the first (conditional) row: the time embedder alone, as the reference computes it
        var temb = parts.TimeEmbedding();
        Assert.Equal(Config.Dim, temb.Length);
    }

    [Fact]
    public void DbCache_skips_the_middle_blocks_as_documented()
    {
        // four steps of a fake schedule: latents drift a little, time moves
        var xs = new List<HostTensor> { Latents() };
        for (int i = 1; i < 4; i++) xs.Add(HostTensor.Float32(xs[0].Floats.Select((v, j) => v * (1 - 0.05f * i) + 0.01f * i * MathF.Sin(j)).ToArray(), xs[0].Shape));
        float[] ts = [900f, 800f, 700f, 600f];
        EngineParts Step(int i) => new(Engine, xs[i], Timestep(ts[i]), _text, Config.Layers);

        // by hand: Fn = 1, Bn = 1 → blocks 0 | 1..2 | 3
        float[] Full(int i) { var p = Step(i); return p.Output(p.Blocks(3, 4, p.Blocks(1, 3, p.Blocks(0, 1, p.Embed())))).ToHost().Floats; }
        var p0 = Step(0);
        var fn0 = p0.Blocks(0, 1, p0.Embed());
        var mid0 = p0.Blocks(1, 3, fn0);
        var middleResidual = Sub(mid0.ToHost().Floats, fn0.ToHost().Floats);
        float[] Cached(int i)
        {
            var p = Step(i);
            var fn = p.Blocks(0, 1, p.Embed());
            return p.Output(p.Blocks(3, 4, new HostResidentTensor(HostTensor.Float32(Add(fn.ToHost().Floats, middleResidual), fn.Shape)))).ToHost().Floats;
        }
        double Diff(int i)
        {
            var p = Step(i); var e = p.Embed(); var fn = p.Blocks(0, 1, e);
            var r = Sub(fn.ToHost().Floats, e.ToHost().Floats); var r0 = Sub(fn0.ToHost().Floats, p0.Embed().ToHost().Floats);
            return r.Zip(r0, (a, b) => Math.Abs((double)a - b)).Sum() / r0.Sum(v => Math.Abs((double)v));
        }

        // a threshold above every step's difference, warm-up 1, at most 2 cached steps: computed, cached, cached, computed
        double d1 = Diff(1), d2 = Diff(2);
        _output.WriteLine($"Fn residual relative L1 vs step 0: step 1 {d1:g4}, step 2 {d2:g4}");
        var (outputs, report) = Run(new CacheDitOptions(Fn: 1, Bn: 1, Threshold: 1e9, Warmup: 1, MaxCachedSteps: 2), Step);
        Assert.Equal([true, false, false, true], report.Computed);
        Assert.Equal(Full(0), outputs[0]);
        Assert.Equal(Cached(1), outputs[1]);
        Assert.Equal(Cached(2), outputs[2]);
        Assert.Equal(Full(3), outputs[3]);
        Assert.NotEqual(Full(1), outputs[1]);

        // the threshold decides: just above step 1's difference caches it, just below computes it
        Assert.Equal([true, false], Run(new CacheDitOptions(1, 1, d1 * 1.001, 1, null), Step, steps: 2).Report.Computed);
        Assert.Equal([true, true], Run(new CacheDitOptions(1, 1, d1 * 0.999, 1, null), Step, steps: 2).Report.Computed);
        // warm-up: no step before it is cached, whatever the threshold
        Assert.Equal([true, true, true, false], Run(new CacheDitOptions(1, 1, 1e9, 3, null), Step).Report.Computed);
        // threshold 0: every step computes, and gives exactly the uncached composition
        var (exact, all) = Run(new CacheDitOptions(1, 1, 0, 0, null), Step);
        Assert.All(all.Computed, Assert.True);
        for (int i = 0; i < 4; i++) Assert.Equal(Full(i), exact[i]);
    }

    static (List<float[]> Outputs, StepCacheReport Report) Run(CacheDitOptions options, Func<int, EngineParts> step, int steps = 4)
    {
        var log = new StepCacheLog("cache-dit", steps);
        using var cache = new DbCache(options, log);
        var outputs = Enumerable.Range(0, steps).Select(i => cache.Predict(i, step(i)).ToHost().Floats).ToList();
        return (outputs, log.Report());
    }

    [Theory]
    [InlineData("FP8")]
    [InlineData("NVFP4")]
    public void Quantized_parts_compose_to_the_whole_quantized_transformer(string algo)
    {
        // Cache-DiT on a quantized transformer: each part traced with the whole graph's quantization
        var config = new QuantizationConfig(QuantAlgo.Parse(algo, "test"), []);
        var engines = new Dictionary<string, IEngine>();
        var weightDequantNodes = new Dictionary<string, int>();   // FP8 DequantizeLinear / NVFP4 nibble unpack per part graph
        IEngine Quantized(string part)
        {
            if (engines.TryGetValue(part, out var e)) return e;
            using var source = new ReadLog(ComponentWeights.Open(_dir));
            var q = new QuantizedLinears(config, fromCheckpoint: false);
            var graph = part.Length == 0 ? WanTransformer3D.Trace(_dir, source, quantization: q) : WanTransformer3D.TracePart(_dir, source, false, part, q);
            weightDequantNodes[part] = graph.Nodes.Count(n => n.OpType is "DequantizeLinear" or "BitShift");
            var engine = engines[part] = OrtTestEngine.Build(graph, "transformer_" + algo + (part.Length == 0 ? "" : "." + part));
            // weights are quantized when the graph is written, only those it uses: a blocks part reads no other block's
            if (TransformerParts.TryParseBlocks(part, out int from, out int to))
                Assert.All(source.Read.Where(n => n.StartsWith("blocks.", StringComparison.Ordinal)),
                    n => Assert.InRange(int.Parse(n.Split('.')[1]), from, to - 1));
            return engine;
        }
        try
        {
            var x = Latents();
            var t = HostTensor.Float32([850f, 320f], Batch);
            var parts = new EngineParts(Quantized, x, t, _text, Config.Layers);
            var hidden = parts.Embed();
            foreach (var (from, to) in new[] { (0, 2), (2, 4) }) hidden = parts.Blocks(from, to, hidden);
            var composed = parts.Output(hidden).ToHost().Floats;
            var whole = parts.Whole().ToHost().Floats;
            var plain = new EngineParts(Engine, x, t, _text, Config.Layers).Whole().ToHost().Floats;
            _output.WriteLine($"{algo}: weight dequantization nodes per part {string.Join(", ", weightDequantNodes.Select(kv => $"'{kv.Key}' {kv.Value}"))}; " +
                $"parts vs whole max abs {Compare.MaxAbs(whole, composed):g3}; quantized vs float whole {Compare.MaxAbs(plain, whole):g3}");
            Compare.Component(whole, composed, $"{algo} wan parts vs the whole {algo} graph", factor: 1e-5);
            // composed equal to the quantized whole and far from the float one: the blocks and output parts are quantized
            Assert.True(Compare.MaxAbs(plain, whole) > 1e-4, "the quantized transformer's output equals the float one");
            // the time embedding, which only TeaCache compares, stays unquantized
            Assert.Equal(Config.Dim, parts.TimeEmbedding().Length);
            Assert.Equal(0, weightDequantNodes[TransformerParts.TimeEmbedding]);
            Assert.True(weightDequantNodes[TransformerParts.Blocks(0, 2)] > 0 && weightDequantNodes[TransformerParts.Blocks(2, 4)] > 0);
        }
        finally
        {
            foreach (var e in engines.Values) e.Dispose();
        }
    }

    [Fact]
    public void Parts_beyond_the_blocks_are_refused()
    {
        using var source = ComponentWeights.Open(_dir);
        var e = Assert.Throws<CheckpointException>(() => WanTransformer3D.TracePart(_dir, source, false, TransformerParts.Blocks(2, 5)));
        Assert.Contains("the transformer has 4 blocks", e.Message);
        Assert.Throws<CheckpointException>(() => WanTransformer3D.TracePart(_dir, source, false, "blocks_3_1"));
    }

    static float[] Sub(float[] a, float[] b) => a.Zip(b, (x, y) => x - y).ToArray();
    static float[] Add(float[] a, float[] b) => a.Zip(b, (x, y) => x + y).ToArray();

    float[] Uniform(int n) => Enumerable.Range(0, n).Select(_ => (float)(_rng.NextDouble() * 2 - 1)).ToArray();

    public void Dispose()
    {
        foreach (var e in _engines.Values) e.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>One step's transformer over part engines built straight from the traced graphs (no engine cache); the token
    /// streams are host tensors, as an engine computing on the host hands them out.</summary>
    sealed class EngineParts(Func<string, IEngine> engine, HostTensor x, HostTensor t, HostTensor text, int blocks) : ISplitTransformer
    {
        public int BlockCount => blocks;
        public IEngineTensor LatentInput => new HostResidentTensor(x);
        public ITensorArithmetic Arithmetic => HostArithmetic.Instance;
        public IEngineTensor Whole() => new HostResidentTensor(engine("").Run(new Dictionary<string, HostTensor> { ["hidden_states"] = x, ["timestep"] = t, ["encoder_hidden_states"] = text })["sample"]);
        public float[] TimeEmbedding()
        {
            var temb = engine(TransformerParts.TimeEmbedding).Run(new Dictionary<string, HostTensor> { ["timestep"] = t })["temb"];
            return temb.Floats[..(int)(temb.Floats.Length / temb.Shape[0])];
        }
        public IEngineTensor Embed() => new HostResidentTensor(engine(TransformerParts.Embed).Run(new Dictionary<string, HostTensor> { ["hidden_states"] = x })["hidden"]);
        public IEngineTensor Blocks(int from, int to, IEngineTensor hidden) => new HostResidentTensor(engine(TransformerParts.Blocks(from, to))
            .Run(new Dictionary<string, HostTensor> { ["hidden"] = hidden.ToHost(), ["timestep"] = t, ["encoder_hidden_states"] = text })["hidden_out"]);
        public IEngineTensor Output(IEngineTensor hidden) => new HostResidentTensor(engine(TransformerParts.Output)
            .Run(new Dictionary<string, HostTensor> { ["hidden"] = hidden.ToHost(), ["timestep"] = t })["sample"]);
    }

    /// <summary>A tensor source that records the tensors whose values were read.</summary>
    sealed class ReadLog(ITensorSource inner) : ITensorSource
    {
        public List<string> Read { get; } = [];
        public IEnumerable<string> Names => inner.Names;
        public bool Contains(string name) => inner.Contains(name);
        public TensorInfo Info(string name) => inner.Info(name);
        public ReadOnlySpan<byte> GetBytes(string name) { Read.Add(name); return inner.GetBytes(name); }
        public float[] ReadFloat32(string name) { Read.Add(name); return inner.ReadFloat32(name); }
        public void Dispose() => inner.Dispose();
    }
}
