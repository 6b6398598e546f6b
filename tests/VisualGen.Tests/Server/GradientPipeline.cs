using VisualGen.Pipelines;
using VisualGen.Tensors;

namespace VisualGen.Tests.Server;

/// <summary>
/// A real, deterministic IGenerationPipeline for server tests of queueing, validation and persistence:
/// pixel (f, y, x, c) = frac(0.1·seed + 0.3·c + 0.5·x/W + 0.25·y/H + 0.2·f/F). Steps can be held at
/// a <see cref="PipelineGate"/> so a test sees a job in_progress, or kills the server mid-job.
/// With <c>acceptsImage</c>, a request's conditioning image (same size) comes back inverted: 1 - x; with <c>maxImages</c>
/// above 1 it takes several (FLUX.2's reference images), which only <see cref="LastRequest"/> shows.
/// </summary>
public sealed class GradientPipeline(bool producesVideo = true, PipelineGate? gate = null, bool acceptsImage = false, bool takesFps = false,
    int maxImages = 1) : IGenerationPipeline
{
    public PipelineInfo Info { get; } = new()
    {
        ClassName = "GradientTestPipeline",
        Family = producesVideo ? "gradient-video" : "gradient-image",
        ProducesVideo = producesVideo,
        Arguments = [CallArguments.NegativePrompt, CallArguments.GuidanceScale, .. producesVideo ? [CallArguments.NumFrames] : Array.Empty<CallArgument>(),
            .. acceptsImage ? [CallArguments.Image] : Array.Empty<CallArgument>(), .. takesFps ? [CallArguments.Fps] : Array.Empty<CallArgument>()],
        DefaultHeight = 32,
        DefaultWidth = 48,
        MaxImages = maxImages,
        DefaultNumFrames = producesVideo ? 9 : 1,
        FrameMultiple = producesVideo ? 4 : 1,
        DefaultSteps = 2,
        SizeMultiple = 16,
        FramesPerSecond = 16,
    };

    public int Generations;
    /// <summary>The request of the last generation.</summary>
    public GenerationRequest? LastRequest { get; private set; }
    public bool Disposed { get; private set; }

    public void Validate(GenerationRequest r)
    {
        int frames = producesVideo ? r.NumFrames ?? Info.DefaultNumFrames : 1;
        if ((frames - 1) % Info.FrameMultiple != 0) throw new GenerationException("num_frames", $"num_frames {frames}: num_frames - 1 must be a multiple of 4");
    }

    public async Task<GenerationResult> GenerateAsync(GenerationRequest r, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Disposed, this);
        Validate(r);
        int h = r.Height ?? Info.DefaultHeight, w = r.Width ?? Info.DefaultWidth;
        int frames = producesVideo ? r.NumFrames ?? Info.DefaultNumFrames : 1;
        int steps = r.NumInferenceSteps ?? Info.DefaultSteps;
        progress?.Report(new GenerationProgress("encode", 0, steps));
        for (int s = 1; s <= steps; s++)
        {
            if (gate is not null) await gate.WaitAsync(cancellationToken);
            cancellationToken.ThrowIfCancellationRequested();
            progress?.Report(new GenerationProgress("denoise", s, steps));
        }
        progress?.Report(new GenerationProgress("decode", steps, steps));
        Interlocked.Increment(ref Generations);
        LastRequest = r;
        var data = Pixels(r.Seed ?? 0, frames, h, w);
        if (r.Image is { } image)
        {
            if (!acceptsImage) throw new GenerationException("image", "this pipeline takes no image");
            if (image.Shape[0] != h || image.Shape[1] != w) throw new GenerationException("image", $"image {image.ShapeText} is not {h}x{w}");
            for (int i = 0; i < data.Length; i++) data[i] = 1f - image.Floats[i % image.Floats.Length];
        }
        var output = producesVideo ? HostTensor.Float32(data, 1, frames, h, w, 3) : HostTensor.Float32(data, 1, h, w, 3);
        return new GenerationResult(HostTensor.Zeros(1, 1), output, producesVideo, Info.FramesPerSecond);
    }

    public static float[] Pixels(long seed, int frames, int h, int w)
    {
        var data = new float[frames * h * w * 3];
        int i = 0;
        for (int f = 0; f < frames; f++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < 3; c++)
                    {
                        double v = 0.1 * seed + 0.3 * c + 0.5 * x / w + 0.25 * y / h + 0.2 * f / frames;
                        data[i++] = (float)(v - Math.Floor(v));
                    }
        return data;
    }

    /// <summary>Independent 8-bit conversion for expectations: round half to even (numpy_to_pil) or truncate (export_to_video).</summary>
    public static byte[] To8Bit(ReadOnlySpan<float> values, bool truncate = false)
    {
        var b = new byte[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            double v = Math.Clamp((double)values[i], 0, 1) * 255;
            b[i] = (byte)(truncate ? Math.Floor(v) : Math.Round((float)v, MidpointRounding.ToEven));
        }
        return b;
    }

    public void Dispose() => Disposed = true;
}

/// <summary>An open/closed gate the pipeline's steps pass through.</summary>
public sealed class PipelineGate(bool open = true)
{
    TaskCompletionSource _open = NewSignal(open);
    readonly Lock _lock = new();

    static TaskCompletionSource NewSignal(bool set)
    {
        var t = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (set) t.SetResult();
        return t;
    }

    /// <summary>Steps that reach the gate after this wait.</summary>
    public void Close()
    {
        lock (_lock) if (_open.Task.IsCompleted) _open = NewSignal(false);
    }

    public void Open()
    {
        lock (_lock) _open.TrySetResult();
    }

    /// <summary>Completes when a step is waiting at the closed gate (or has passed an open one).</summary>
    public int Arrivals;

    public Task WaitAsync(CancellationToken ct)
    {
        Interlocked.Increment(ref Arrivals);
        Task t;
        lock (_lock) t = _open.Task;
        return t.WaitAsync(ct);
    }
}

/// <summary>A real pipeline whose requests with <paramref name="heldPrompt"/> wait at <paramref name="gate"/> before they run,
/// so a test holds the worker busy for exactly as long as it needs, whatever the machine's speed.</summary>
public sealed class GatedPipeline(IGenerationPipeline inner, PipelineGate gate, string heldPrompt) : IGenerationPipeline
{
    public PipelineInfo Info => inner.Info;

    public void Validate(GenerationRequest request) => inner.Validate(request);

    public async Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (request.Prompt == heldPrompt) await gate.WaitAsync(cancellationToken);
        return await inner.GenerateAsync(request, progress, cancellationToken);
    }

    public void Dispose() => inner.Dispose();
}
