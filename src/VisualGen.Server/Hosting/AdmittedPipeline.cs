using VisualGen.Pipelines;

namespace VisualGen.Server.Hosting;

/// <summary>
/// The served pipeline under the server's admission rules: <see cref="Validate"/> adds the cost check (a request
/// whose estimated working memory exceeds <see cref="MaxJobMemory"/> is refused naming the size, before it takes a
/// queue slot), and a generation that outlasts the job timeout is stopped with a <see cref="JobTimeoutException"/>.
/// </summary>
public sealed class AdmittedPipeline(IGenerationPipeline pipeline, long maxJobMemory, TimeSpan? jobTimeout, bool scoresMaterialized) : IGenerationPipeline
{
    public PipelineInfo Info => pipeline.Info;

    public long MaxJobMemory => maxJobMemory;

    /// <summary>How the pipeline is run (engine, quantization, step cache, ...), as /v1/models reports it; null where the
    /// loader did not say (a test's pipeline).</summary>
    public Api.EngineSettings? Engine { get; init; }

    /// <summary>80% of the memory available to the process (GC's view: the container limit where there is one).</summary>
    public static long DefaultMaxJobMemory() => (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 0.8);

    /// <summary>Engines that hold a transformer call's attention scores in memory (ONNX Runtime's attention does; the
    /// native CUDA engine's fused kernels do not, and its memory is the GPU's, bounded by --gpu-memory).</summary>
    public static bool MaterializesScores(string? engine) => engine is null or "ort-cpu" or "ort-cuda";

    public void Validate(GenerationRequest request)
    {
        pipeline.Validate(request);
        if (pipeline.EstimateCost(request) is not { } cost) return;
        long need = cost.WorkingBytes(scoresMaterialized);
        if (need <= maxJobMemory) return;
        string what = request.NumFrames is int f && Info.ProducesVideo
            ? $"{request.Width ?? Info.DefaultWidth}x{request.Height ?? Info.DefaultHeight} with {f} frames"
            : $"{request.Width ?? Info.DefaultWidth}x{request.Height ?? Info.DefaultHeight}";
        throw new GenerationException("size",
            $"{what} needs about {Gib(need)} of working memory ({cost.TransformerTokens} transformer tokens" +
            (scoresMaterialized ? $", {Gib(cost.MaterializedScoreBytes)} of attention scores" : "") +
            $"); this server takes jobs up to {Gib(maxJobMemory)} (--max-job-memory): ask for a smaller size or fewer frames");
    }

    public GenerationCost? EstimateCost(GenerationRequest request) => pipeline.EstimateCost(request);

    public async Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (jobTimeout is not { } limit) return await pipeline.GenerateAsync(request, progress, cancellationToken);
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(limit);
        try
        {
            return await pipeline.GenerateAsync(request, progress, timer.Token);
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new JobTimeoutException(limit);
        }
    }

    static string Gib(long bytes) => $"{bytes / (double)(1L << 30):F1} GiB";

    public void Dispose() => pipeline.Dispose();
}

/// <summary>A generation stopped because it ran longer than the server's --job-timeout.</summary>
public sealed class JobTimeoutException(TimeSpan limit)
    : Exception($"the generation ran longer than this server's job timeout ({limit.TotalSeconds:0.#} s, --job-timeout) and was stopped");
