using VisualGen.Engines;
using VisualGen.Pipelines;
using VisualGen.Tensors;

namespace VisualGen.Tests.Pipelines;

/// <summary>What stays resident under a GPU memory budget, stage by stage, and the refusal when a stage cannot fit.</summary>
public class GpuMemoryBudgetTests
{
    const long GiB = 1L << 30;

    sealed class SizedEngine(string name, long bytes) : IEngine
    {
        public string Name { get; } = name;
        public bool Disposed { get; private set; }
        public long DeviceBytes => Disposed ? 0 : bytes;
        public EngineManifest Manifest => throw new NotSupportedException();
        public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs) => throw new NotSupportedException();
        public void Dispose() => Disposed = true;
    }

    sealed class SizedProvider(long? budget, Dictionary<string, long> sizes) : IEngineProvider
    {
        public List<string> Loads { get; } = [];
        public List<string> Releases { get; } = [];
        public long? GpuMemoryBudget => budget;
        public IEngine GetEngine(string modelPath, string component, IProgress<string>? progress)
        {
            Loads.Add(component);
            return new SizedEngine(component, sizes[component]);
        }
        public void Release(IEngine engine) { Releases.Add(((SizedEngine)engine).Name); engine.Dispose(); }
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
    [InlineData("4", "error: --gpu-memory bounds the GPU memory the engines hold, and the ort-cpu engine holds none; add --engine native-cuda or remove --gpu-memory")]
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
