using VisualGen.Demo;
using VisualGen.Engines.Cuda.Runtime;
using VisualGen.Exporter.Export;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using EngineWiring = VisualGen.Exporter.Commands.Runtime;

namespace VisualGen;

/// <summary>
/// A model loaded for generation, in one call: <c>VisualGenPipeline.Load(folder)</c>, then
/// <see cref="GenerateAsync"/> and <see cref="GenerationResultExtensions.SaveAsync"/>. Loading reads configs and
/// tokenizers only; each component is exported and built into the engine cache on its first use (a later run, or
/// another process with the same cache, loads it without exporting). Dispose to free the engines.
/// </summary>
public sealed class VisualGenPipeline : IDisposable
{
    /// <summary>Environment variable naming the built-in demo model's folder (as the CLI's and the server's).</summary>
    public const string DemoVariable = DemoModel.DirectoryVariable;

    readonly IGenerationPipeline _pipeline;
    readonly EngineProvider _engines;
    readonly bool _vaeTiling;
    /// <summary>Cancelled by <see cref="Dispose"/>: generations in flight stop at their next step, and an engine being
    /// exported or built for one (the provider holds this token: <see cref="EngineProvider.Cancellation"/>) stops too;
    /// Dispose waits for them, so no engine is freed under a run (a native engine freed mid-run can take the process down).</summary>
    readonly CancellationTokenSource _closing;
    readonly object _gate = new();  // Monitor: Dispose waits on it for the generations in flight
    int _running;
    bool _disposed;
    /// <summary>True in the flow of a generation of this pipeline (its progress callbacks): a Dispose from there would wait for itself.</summary>
    readonly AsyncLocal<bool> _inGeneration = new();

    VisualGenPipeline(IGenerationPipeline pipeline, EngineProvider engines, CancellationTokenSource closing, string modelPath, bool vaeTiling)
    {
        _pipeline = pipeline;
        _closing = closing;
        _vaeTiling = vaeTiling;
        _engines = engines;
        ModelPath = modelPath;
    }

    /// <summary>The model folder (full path).</summary>
    public string ModelPath { get; }

    /// <summary>What the model is: class, family, whether it makes video, takes an image, its defaults.</summary>
    public PipelineInfo Info => _pipeline.Info;

    /// <summary>The engine cache folder in use.</summary>
    public string EngineCacheDirectory => _engines.Cache.Root;

    /// <summary>
    /// Loads a diffusers-format model folder (model_index.json with its component folders) or a monolithic LTX-2
    /// safetensors file (text_encoder/ and tokenizer/ beside it). Throws
    /// <see cref="ArgumentException"/> for options that do not fit together, a <c>MediaException</c> for an engine
    /// cache folder that cannot be created, a <c>QuantizationException</c> for a checkpoint's quantization_config it
    /// cannot load, and the checkpoint's own errors (naming the file and the problem) for a folder that is not a model
    /// VisualGen knows.
    /// </summary>
    public static VisualGenPipeline Load(string modelPath, VisualGenOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelPath);
        options ??= new VisualGenOptions();
        options.Validate();
        string model = Path.GetFullPath(modelPath);
        // a monolithic LTX-2 safetensors file is a model too (detected by its metadata)
        if (!Directory.Exists(model) && !File.Exists(model))
            throw new DirectoryNotFoundException($"model folder {model} does not exist; pass a diffusers-format folder (with model_index.json), a monolithic LTX-2 .safetensors file, or use {nameof(LoadDemo)}()");
        var log = options.Log is { } write ? new Progress(write) : null;
        string cache = EngineWiring.CacheDirectory(options.EngineCacheDirectory);
        VisualGen.Exporter.Commands.EngineCacheLocation.Require(cache, note => options.Log?.Invoke(note));  // MediaException if it cannot be made
        // the pipeline's closing token, made before the provider that holds it: Dispose stops an engine build in progress
        var closing = new CancellationTokenSource();
        EngineProvider engines;
        try
        {
            engines = EngineWiring.CreateEngineProvider(cache, options.Engine, log,
                options.AttentionFlag, options.GpuMemoryBudget, options.Quantization, vaeDtypeFlag: options.VaeDtype, cancellation: closing.Token);
        }
        catch { closing.Dispose(); throw; }
        try
        {
            IGenerationPipeline pipeline = ModelFamilies.CreateRegistry().Create(model, engines);
            try { engines.CheckReady(model); }  // a backend that cannot run here, a quantization_config it cannot load: now, not at the first generation
            catch { pipeline.Dispose(); throw; }
            // the options' step cache (a configuration's cache_config) for every request that sets none, as the CLI's and the server's --config
            if (options.TeaCache is not null || options.CacheDit is not null)
                pipeline = new CacheDefaultPipeline(pipeline, options.TeaCache, options.CacheDit);
            return new VisualGenPipeline(pipeline, engines, closing, model, options.VaeTiling);
        }
        catch
        {
            engines.Dispose();
            closing.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads the built-in tiny demo model (a Wan 2.1 text-to-video checkpoint with RANDOM weights: its output is
    /// noise), creating it first in $VISUALGEN_DEMO, else the demo's default folder. It generates at the sizes of
    /// <see cref="DemoRequest"/>.
    /// </summary>
    public static VisualGenPipeline LoadDemo(VisualGenOptions? options = null) =>
        Load(DemoModel.EnsureConfigured(), options);

    /// <summary>A request the demo model runs in a second on a CPU (the CLI's demo defaults: 48x32, 9 frames, 4 steps).</summary>
    public static GenerationRequest DemoRequest(string prompt) => new()
    {
        Prompt = prompt,
        Height = 32,
        Width = 48,
        NumFrames = 9,
        NumInferenceSteps = 4,
        MaxSequenceLength = 16,
    };

    /// <summary>Checks a request without running anything; throws the <see cref="GenerationException"/> that
    /// <see cref="GenerateAsync"/> would.</summary>
    public void Validate(GenerationRequest request)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(request);
        _pipeline.Validate(WithDefaults(request));
    }

    /// <summary>The options' defaults for what the request leaves unset (<see cref="VisualGenOptions.VaeTiling"/>).</summary>
    GenerationRequest WithDefaults(GenerationRequest r) => r.VaeTiling is null && _vaeTiling ? r with { VaeTiling = true } : r;

    /// <summary>Generates; progress reports each stage and denoising step. Cancellation reaches every stage: it is checked
    /// between stages, steps, VAE tiles and chunks, and stops an engine run in flight on ONNX Runtime (a text encoder or
    /// a VAE decode of minutes on the CPU); a cancelled generation throws <see cref="OperationCanceledException"/> and
    /// returns no result. A generation still running when the pipeline is disposed ends with an <see cref="ObjectDisposedException"/>.</summary>
    public async Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _running++;
        }
        try
        {
            using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
            _inGeneration.Value = true;
            var result = await _pipeline.GenerateAsync(WithDefaults(request), progress, run.Token).ConfigureAwait(false);
            run.Token.ThrowIfCancellationRequested();   // cancelled during the last engine run: no result
            return result;
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new ObjectDisposedException(nameof(VisualGenPipeline), "the pipeline was disposed while this generation ran");
        }
        finally
        {
            lock (_gate)
                if (--_running == 0) Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Frees the engines. Generations in flight are cancelled at their next step (or during the export or build
    /// of an engine they wait for, which leaves no temporary folder in the engine cache) and waited for first; called from a generation's own progress callback it throws
    /// <see cref="InvalidOperationException"/> (it would wait for itself).</summary>
    public void Dispose()
    {
        if (_inGeneration.Value)
            throw new InvalidOperationException("VisualGenPipeline.Dispose was called from a generation's own progress callback: it would wait for that generation to end; dispose after it returns");
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _closing.Cancel();
            while (_running > 0) Monitor.Wait(_gate);
        }
        _pipeline.Dispose();
        _engines.Dispose();
        _closing.Dispose();
    }

    /// <summary>Engine export/build lines to the caller's log callback, synchronously (no synchronization context).</summary>
    sealed class Progress(Action<string> write) : IProgress<string>
    {
        public void Report(string value) => write(value);
    }
}
