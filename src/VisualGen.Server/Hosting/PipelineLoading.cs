using VisualGen.Demo;
using VisualGen.Exporter.Commands;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Server.Api;
using VisualGen.Tensors;

namespace VisualGen.Server.Hosting;

/// <summary>
/// Loads the pipeline the command line names (the library's family registry), or the built-in demo model when
/// --model is absent, over one engine provider that lives as long as the server (engines are exported and built
/// into the engine cache on first use).
/// </summary>
public static class PipelineLoading
{
    /// <param name="builds">stops the exports and builds the provider starts for generations (<see cref="EngineBuilds"/>:
    /// the server's shutdown)</param>
    public static IGenerationPipeline Load(ServerOptions options, ILogger log, CancellationToken builds = default)
    {
        string model;
        if (options.ModelDir is { } dir) model = Path.GetFullPath(dir);
        else
        {
            model = DemoModel.EnsureConfigured();
            log.LogInformation("no --model given: serving the built-in tiny demo model at {Model}. {Notice}", model, DemoModel.Notice);
        }
        string cache = Runtime.CacheDirectory(options.EngineCacheDir);
        EngineCacheLocation.Require(cache, note => log.LogWarning("{Note}", note));  // before any request needs an engine
        if (Runtime.DefaultEngineNote(options.Engine) is { } engineNote) log.LogWarning("{Note}", engineNote);
        var engines = Runtime.CreateEngineProvider(cache, options.Engine, new Progress(log), options.Attention, Runtime.GpuMemory(options.GpuMemory), options.Quantization,
            vaeDtypeFlag: options.VaeDtype, cancellation: builds);
        try
        {
            var pipeline = ModelFamilies.CreateRegistry().Create(model, engines);
            try { engines.CheckReady(model); }  // a missing backend or a bad quantization_config stops the start, not every request
            catch { pipeline.Dispose(); throw; }
            log.LogInformation("loaded {Class} ({Family}) from {Model}; engines: {Backend} in {Cache}",
                pipeline.Info.ClassName, pipeline.Info.Family, model, options.Engine ?? "ort-cpu", cache);
            long maxJobMemory = options.MaxJobMemory ?? AdmittedPipeline.DefaultMaxJobMemory();
            log.LogInformation("admission: jobs up to {Memory:F1} GiB of working memory{Timeout}", maxJobMemory / (double)(1L << 30),
                options.JobTimeout is { } t ? $", stopped after {t.TotalSeconds:0.#} s" : "");
            IGenerationPipeline served = new OwnedPipeline(pipeline, engines);
            CacheDefaultPipeline? defaults = null;
            if (options.TeaCache is not null || options.CacheDit is not null || options.VaeTiling == true)
            {
                served = defaults = new CacheDefaultPipeline(served, options.TeaCache, options.CacheDit, options.VaeTiling == true ? true : null);
                CheckDefaults(served, pipeline.Info);
            }
            // /v1/models' engine, read from the provider and the defaults' pipeline that generations run on, not from the flags
            return new AdmittedPipeline(served, maxJobMemory, options.JobTimeout, AdmittedPipeline.MaterializesScores(options.Engine))
            {
                Engine = EngineSettings.Of(engines, model, defaults),
            };
        }
        catch
        {
            engines.Dispose();
            throw;
        }
    }

    /// <summary>The configuration's step cache and VAE tiling, checked against the model at startup: a family that has
    /// no TeaCache table (FLUX.2, Cosmos3, LTX-2, without explicit coefficients), fewer blocks than a Cache-DiT's Fn + Bn
    /// or no tiled decode would otherwise refuse every request. A plain request
    /// carries the defaults; only refusals of those defaults stop the start (other arguments come with real requests).</summary>
    static void CheckDefaults(IGenerationPipeline served, PipelineInfo info)
    {
        var plain = new GenerationRequest { Prompt = "startup check of the configured defaults" };
        // where the plain request is refused for something else before the step cache is checked (an image-to-video model
        // needs an image; a small checkpoint's rotary table does not reach the default size), the smallest request the
        // model takes, with a blank image where it needs one
        var blank = info.RequiresImage ? HostTensor.Zeros(info.SizeMultiple, info.SizeMultiple, 3) : null;
        var smallest = plain with
        {
            Height = info.SizeMultiple, Width = info.SizeMultiple, Image = blank,
            MaskImage = info.RequiresImage && info.Takes(CallArguments.MaskImage) ? blank : null,
        };
        foreach (var probe in new[] { plain, smallest })
        {
            try { served.Validate(probe); return; }
            catch (GenerationException e) when (e.Parameter is "vae_tiling" || e.Parameter.StartsWith("teacache", StringComparison.Ordinal)
                                                || e.Parameter.StartsWith("cache_dit", StringComparison.Ordinal))
            {
                throw new GenerationException(e.Parameter, $"the configuration's defaults do not apply to {info.ClassName}: {e.Message}");
            }
            catch (GenerationException) { }
        }
    }

    /// <summary>Export and build lines of the engine provider, as log lines.</summary>
    sealed class Progress(ILogger log) : IProgress<string>
    {
        public void Report(string value) => log.LogInformation("engines: {Line}", value);
    }
}
