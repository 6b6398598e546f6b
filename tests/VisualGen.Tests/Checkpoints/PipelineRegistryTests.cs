using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Checkpoints;

public sealed class PipelineRegistryTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-reg");

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>Records what the registry handed to the factory.</summary>
    sealed class RecordingPipeline(DetectedModel model, IEngineProvider engines) : IGenerationPipeline
    {
        public DetectedModel Model => model;
        public IEngineProvider Engines => engines;
        public PipelineInfo Info => new()
        {
            ClassName = model.ClassName, Family = model.Family, ProducesVideo = false, Arguments = [],
            DefaultHeight = 64, DefaultWidth = 64, DefaultSteps = 2, SizeMultiple = 16,
        };
        public void Validate(GenerationRequest request) =>
            throw new NotSupportedException("recording pipeline: requests are not part of registry tests");
        public Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
            CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("recording pipeline: generation is not part of registry tests");
        public void Dispose() { }
    }

    sealed class NoEngines : IEngineProvider
    {
        public IEngine GetEngine(string modelPath, string component, IProgress<string>? progress) =>
            throw new EngineException($"no engines in registry tests ({component})");
    }

    static PipelineRegistry Registry() => new PipelineRegistry()
        .Register("WanPipeline", new PipelineDescriptor("wan21", (m, e) => new RecordingPipeline(m, e)))
        .Register("FluxPipeline", new PipelineDescriptor("flux1", (m, e) => new RecordingPipeline(m, e)));

    string Model(string className)
    {
        string dir = Path.Combine(_dir, className);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "model_index.json"), $$"""{"_class_name": "{{className}}", "vae": ["diffusers", "AutoencoderKL"]}""");
        return dir;
    }

    [Fact]
    public void DetectsByClassNameAndCreates()
    {
        string dir = Model("FluxPipeline");
        var registry = Registry();
        var detected = registry.Detect(dir);
        Assert.Equal("FluxPipeline", detected.ClassName);
        Assert.Equal("flux1", detected.Family);
        Assert.Equal(dir, detected.RequireIndex().Directory);
        var engines = new NoEngines();
        using var pipeline = (RecordingPipeline)registry.Create(dir, engines);
        Assert.Same(engines, pipeline.Engines);
        Assert.Equal("flux1", pipeline.Info.Family);
        Assert.True(pipeline.Model.Index!.HasComponent("vae"));
    }

    [Fact]
    public void UnknownClassListsKnownClasses()
    {
        string dir = Model("StableDiffusionPipeline");
        var e = Assert.Throws<CheckpointException>(() => Registry().Detect(dir));
        Assert.Equal($"{Path.Combine(dir, "model_index.json")}: unsupported pipeline class 'StableDiffusionPipeline'; known pipeline classes: FluxPipeline, WanPipeline", e.Message);
    }

    [Fact]
    public void DuplicateRegistrationIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => Registry().Register("WanPipeline", new PipelineDescriptor("other", (m, x) => new RecordingPipeline(m, x))));
        Assert.StartsWith("pipeline class 'WanPipeline' is already registered (family wan21)", e.Message);
    }

    [Fact]
    public void MonolithicFileIsDetectedThroughItsMetadata()
    {
        string file = Path.Combine(_dir, "ltx-2.safetensors");
        SafeTensorsWriter.Write(file, [TensorData.Float32("w", [1], [1f])], new Dictionary<string, string> { ["model_name"] = "ltx-2" });
        var registry = Registry()
            .Register("LTX2Pipeline", new PipelineDescriptor("ltx2", (m, e) => new RecordingPipeline(m, e)))
            .RegisterFileDetector((_, meta) => meta.TryGetValue("model_name", out var n) && n == "ltx-2" ? "LTX2Pipeline" : null);
        var detected = registry.Detect(file);
        Assert.Equal("LTX2Pipeline", detected.ClassName);
        Assert.Null(detected.Index);
        Assert.Equal("ltx-2", detected.FileMetadata!["model_name"]);
        Assert.Contains("needs a diffusers folder with model_index.json", Assert.Throws<CheckpointException>(() => detected.RequireIndex()).Message);
    }

    [Fact]
    public void UnrecognisedFileNamesMetadataAndKnownClasses()
    {
        string file = Path.Combine(_dir, "x.safetensors");
        SafeTensorsWriter.Write(file, [TensorData.Float32("w", [1], [1f])], new Dictionary<string, string> { ["format"] = "pt" });
        var e = Assert.Throws<CheckpointException>(() => Registry().Detect(file));
        Assert.Equal($"{file}: no registered detector recognises this safetensors file (metadata keys: format); known pipeline classes: FluxPipeline, WanPipeline", e.Message);
    }

    [ConformanceFact]
    public void DetectsTheConformanceCheckpoints()
    {
        var registry = Registry();
        Assert.Equal("wan21", registry.Detect(Fixtures.Checkpoint("wan21_t2v")).Family);
        Assert.Equal("flux1", registry.Detect(Fixtures.Checkpoint("flux1")).Family);
        var e = Assert.Throws<CheckpointException>(() => registry.Detect(Fixtures.Checkpoint("qwenimage")));
        Assert.Contains("unsupported pipeline class 'QwenImagePipeline'", e.Message);
    }
}
