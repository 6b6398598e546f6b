using VisualGen.Engines;
using VisualGen.Pipelines;
using VisualGen.Tensors;

namespace VisualGen.Tests.Pipelines;

/// <summary>What stays resident under a GPU memory budget, stage by stage, and the refusal when a stage cannot fit.</summary>
public class GpuMemoryBudgetTests
{
    const long GiB = 1L << 30;

    sealed class SizedEngine(string name, long bytes, long shared = 0, Func<long>? tensors = null) : IEngine
    {
        public string Name { get; } = name;
        public bool Disposed { get; private set; }
        public long DeviceBytes => Disposed ? 0 : bytes;
        public long SharedDeviceBytes => Disposed ? 0 : shared;
        public long TensorDeviceBytes => tensors?.Invoke() ?? 0;
        public EngineManifest Manifest => throw new NotSupportedException();
        public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs) => throw new NotSupportedException();
        public void Dispose() => Disposed = true;
    }

    sealed class SizedProvider(long? budget, Dictionary<string, long> sizes, Dictionary<string, long>? shared = null) : IEngineProvider
    {
        /// <summary>The device's resident tensors, as every engine reports them (one amount per device).</summary>
        public long Tensors { get; set; }
        public IProgress<string>? Log { get; init; }
        public List<string> Loads { get; } = [];
        public List<string> Releases { get; } = [];
        public long? GpuMemoryBudget => budget;
        public IEngine GetEngine(string modelPath, string component, IProgress<string>? progress)
        {
            Loads.Add(component);
            return new SizedEngine(component, sizes[component], shared?.GetValueOrDefault(component) ?? 0, () => Tensors);
        }
        public void Release(IEngine engine) { Releases.Add(((SizedEngine)engine).Name); engine.Dispose(); }
    }

    sealed class Lines(List<string> lines) : IProgress<string>
    {
        public void Report(string value) => lines.Add(value);
    }

    static readonly Dictionary<string, long> Wan14B = new()
    {
        ["text_encoder"] = 11 * GiB, ["transformer"] = 28 * GiB, ["transformer_2"] = 28 * GiB,
        ["vae.decoder_first"] = GiB / 4, ["vae.decoder_next"] = GiB / 4,
    };

    static void Generate(PipelineEngines engines, bool twoExperts)
    {
        engines.BeginStage("encode");
        engines.Get("text_encoder"); engines.Get("text_encoder");
        engines.BeginStage("denoise");
        engines.Get("transformer");
        if (twoExperts) { engines.Release("transformer"); engines.Get("transformer_2"); }
        engines.BeginStage("decode");
        engines.Get("vae.decoder_first"); engines.Get("vae.decoder_next");
    }

    [Fact]
    public void Without_a_budget_everything_loaded_stays()
    {
        var p = new SizedProvider(null, Wan14B);
        var e = new PipelineEngines("m", p);
        Generate(e, twoExperts: false);
        Assert.Equal(["text_encoder", "transformer", "vae.decoder_first", "vae.decoder_next"], e.Loaded.Order());
        Assert.Empty(p.Releases);
    }

    [Fact]
    public void Under_a_budget_each_stage_releases_what_earlier_stages_loaded_least_recent_first()
    {
        var p = new SizedProvider(30 * GiB, Wan14B);
        var e = new PipelineEngines("m", p);
        Generate(e, twoExperts: true);
        // the 11 GiB encoder left for the first 28 GiB expert; the experts swap at the boundary; the VAE fits beside expert 2
        Assert.Equal(["text_encoder", "transformer"], p.Releases);
        Assert.Equal(["transformer_2", "vae.decoder_first", "vae.decoder_next"], e.Loaded.Order());
        // a second generation: the encoder's size is known, so room is made before it loads: the expert goes first
        p.Releases.Clear();
        Generate(e, twoExperts: true);
        Assert.Equal("transformer_2", p.Releases[0]);
        Assert.True(e.Loaded.Sum(c => Wan14B[c]) <= 30 * GiB);
    }

    [Fact]
    public void Activation_memory_the_engines_share_counts_once()
    {
        // each VAE decoder: 1 GiB of its own and a 5 GiB need in the device's shared arena; the text encoder 2 + 1 GiB
        var own = new Dictionary<string, long> { ["text_encoder"] = 3 * GiB, ["transformer"] = 4 * GiB, ["vae.decoder_first"] = 6 * GiB, ["vae.decoder_next"] = 6 * GiB };
        var shared = new Dictionary<string, long> { ["text_encoder"] = GiB, ["transformer"] = 2 * GiB, ["vae.decoder_first"] = 5 * GiB, ["vae.decoder_next"] = 5 * GiB };
        // held together: 2 + 2 + 1 + 1 own, 5 shared = 11 GiB (the plain sum is 19)
        Assert.Equal(11 * GiB, IEngine.HeldTogether(own.Keys.Select(c => (IEngine)new SizedEngine(c, own[c], shared[c]))));
        var p = new SizedProvider(11 * GiB, own, shared);
        var e = new PipelineEngines("m", p);
        Generate(e, twoExperts: false);
        Assert.Empty(p.Releases);
        // at 10 GiB the encoder (the least recent) goes for the decoders; a stage alone over the budget is refused,
        // its shared activations named once
        var tight = new SizedProvider(10 * GiB, own, shared);
        var t = new PipelineEngines("m", tight);
        Generate(t, twoExperts: false);
        Assert.Equal(["text_encoder"], tight.Releases);
        var refused = new PipelineEngines("m", new SizedProvider(6 * GiB, own, shared));
        refused.BeginStage("decode");
        refused.Get("vae.decoder_first");
        var x = Assert.Throws<GpuMemoryException>(() => refused.Get("vae.decoder_next"));
        Assert.Contains("vae.decoder_first 1.00 GiB + vae.decoder_next 1.00 GiB + 5.00 GiB of activations they share = 7.00 GiB", x.Message);
        Assert.EndsWith("set it to at least 7 GiB", x.Message);
        // small engines: the size to set in hundredths of a GiB, not rounded up to a whole one
        var small = new PipelineEngines("m", new SizedProvider(GiB / 100, new() { ["text_encoder"] = GiB / 16 }));
        small.BeginStage("encode");
        Assert.EndsWith("set it to at least 0.07 GiB", Assert.Throws<GpuMemoryException>(() => small.Get("text_encoder")).Message);
    }

    [Fact]
    public void Tensors_the_device_holds_between_runs_count_toward_the_budget()
    {
        var own = new Dictionary<string, long> { ["text_encoder"] = 3 * GiB, ["transformer"] = 4 * GiB, ["vae.decoder_first"] = GiB, ["vae.decoder_next"] = GiB };
        // the engines alone (9 GiB) fit 10 GiB; the first chunk's feature caches (3 GiB, held for the next chunk) do not
        // fit beside them: the least recent engine of an earlier stage makes room
        var lines = new List<string>();
        var p = new SizedProvider(10 * GiB, own) { Log = new Lines(lines) };
        var e = new PipelineEngines("m", p);
        e.BeginStage("encode"); e.Get("text_encoder");
        e.BeginStage("denoise"); e.Get("transformer");
        e.BeginStage("decode"); e.Get("vae.decoder_first");
        Assert.Empty(p.Releases);
        p.Tensors = 3 * GiB;
        e.Get("vae.decoder_next");
        Assert.Equal(["text_encoder"], p.Releases);
        Assert.Equal(["transformer", "vae.decoder_first", "vae.decoder_next"], e.Loaded.Order());
        // the release is reported where the provider's own lines go (the CLI's progress)
        Assert.Equal(["GPU memory budget 10.00 GiB: releasing text_encoder (3.00 GiB) for vae.decoder_next"], lines);
        // a stage that does not fit beside the tensors is refused, the tensors named
        var tight = new SizedProvider(4 * GiB, own);
        var t = new PipelineEngines("m", tight);
        t.BeginStage("decode");
        t.Get("vae.decoder_first");
        tight.Tensors = 3 * GiB;
        var x = Assert.Throws<GpuMemoryException>(() => t.Get("vae.decoder_next"));
        Assert.Equal("the decode stage needs vae.decoder_first 1.00 GiB + vae.decoder_next 1.00 GiB + 3.00 GiB of tensors the generation holds " +
            "= 5.00 GiB of GPU memory at once; --gpu-memory is 4.00 GiB: set it to at least 5 GiB", x.Message);
        Assert.Equal(["vae.decoder_first"], t.Loaded);
    }

    [Fact]
    public void Engines_that_grew_after_loading_make_room_when_a_later_generation_asks_for_them_again()
    {
        // at load the engines report only their weights (plans are made when they first run): 9 GiB fit 10
        var weights = new Dictionary<string, long> { ["text_encoder"] = 5 * GiB, ["transformer"] = 2 * GiB, ["vae.decoder_first"] = GiB, ["vae.decoder_next"] = GiB };
        var p = new SizedProvider(10 * GiB, weights);
        var e = new PipelineEngines("m", p);
        Generate(e, twoExperts: false);
        Assert.Empty(p.Releases);
        // after the first generation the device also holds 3 GiB of tensors (buffers kept for reuse): 12 GiB in all. The
        // next generation's encode asks for the loaded text encoder: earlier stages' engines go, least recent first
        p.Tensors = 3 * GiB;
        e.BeginStage("encode");
        e.Get("text_encoder");
        Assert.Equal(["transformer"], p.Releases);
        Assert.Equal(["text_encoder", "vae.decoder_first", "vae.decoder_next"], e.Loaded.Order());
    }

    [Fact]
    public void A_stage_that_cannot_fit_is_refused_with_what_to_set()
    {
        var p = new SizedProvider(20 * GiB, Wan14B);
        var e = new PipelineEngines("m", p);
        e.BeginStage("encode");
        e.Get("text_encoder");
        e.BeginStage("denoise");
        var ex = Assert.Throws<GpuMemoryException>(() => e.Get("transformer"));
        Assert.Equal("the denoise stage needs transformer 28.00 GiB = 28.00 GiB of GPU memory at once; --gpu-memory is 20.00 GiB: set it to at least 28 GiB", ex.Message);
        // nothing is left half-loaded: the encoder was released to try, the transformer released after the refusal
        Assert.Empty(e.Loaded);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-4")]
    [InlineData("lots")]
    public void Gpu_memory_flag_must_be_a_positive_number_of_gib(string flag)
    {
        var ex = Assert.Throws<VisualGen.Exporter.Commands.UsageException>(() => VisualGen.Exporter.Commands.Runtime.GpuMemory(flag));
        Assert.Equal($"--gpu-memory must be a positive number of GiB, got '{flag}'", ex.Message);
        Assert.Equal(80L << 30, VisualGen.Exporter.Commands.Runtime.GpuMemory("80"));
        Assert.Equal(3L << 29, VisualGen.Exporter.Commands.Runtime.GpuMemory("1.5"));
        Assert.Null(VisualGen.Exporter.Commands.Runtime.GpuMemory(null));
    }

    [Theory]
    [InlineData("none", "error: --gpu-memory must be a positive number of GiB, got 'none'")]
    [InlineData("4", "error: --gpu-memory bounds the GPU memory the engines hold, and the ort-cpu engine holds none; add --engine native-cuda, or remove --gpu-memory (or gpu_memory from the --config file)")]
    public void Cli_refuses_a_bad_or_meaningless_gpu_memory_before_any_work(string flag, string error)
    {
        var run = VisualGen.Tests.Cli.CliRun.Of(["generate", "--gpu-memory", flag, "--format", "png", "--output", Path.Combine(VisualGen.Tests.Support.Fixtures.TempDir("gpumem"), "x")]);
        Assert.Equal(2, run.Rc);
        Assert.Equal([error], run.ErrorLines);
        Assert.False(run.Generated);
    }

    [Fact]
    public void Server_takes_gpu_memory_and_refuses_a_bad_value_at_parse()
    {
        Assert.Equal("24", VisualGen.Server.Hosting.ServerOptions.Parse(["--gpu-memory", "24"], _ => null).GpuMemory);
        var e = Assert.Throws<ArgumentException>(() => VisualGen.Server.Hosting.ServerOptions.Parse(["--gpu-memory", "-1"], _ => null));
        Assert.Equal("--gpu-memory must be a positive number of GiB, got '-1'", e.Message);
    }
}
