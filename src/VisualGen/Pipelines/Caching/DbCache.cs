using VisualGen.Tensors;

namespace VisualGen.Pipelines.Caching;

/// <summary>
/// Cache-DiT's DBCache (docs/DBCache.md of github.com/vipshop/cache-dit), over the token stream:
/// the first Fn blocks run; their residual (output − input) is compared with the Fn residual of the last fully
/// computed step by relative L1, mean|r − r_prev| / mean|r_prev|. Below the threshold (and past the warm-up steps, within
/// the cached-step limit) the middle blocks are skipped: their residual from the last computed step is added instead.
/// Otherwise they run and both residuals are cached. The last Bn blocks always run, then the output head.
/// </summary>
public sealed class DbCache(CacheDitOptions options, StepCacheLog log) : IStepCache
{
    float[]? _fnResidual;
    float[]? _middleResidual;
    int _cachedSteps;

    public float[] Predict(int step, ICachedTransformer call)
    {
        var transformer = call as ISplitTransformer
            ?? throw new InvalidOperationException("Cache-DiT runs the transformer in parts; this family's transformer has none");
        int blocks = transformer.BlockCount;
        options.Validate(blocks);
        int middleEnd = blocks - options.Bn;
        var embedded = transformer.Embed();
        var afterFn = transformer.Blocks(0, options.Fn, embedded);
        var fnResidual = Subtract(afterFn.Floats, embedded.Floats);
        bool cached = CanUseCache(step, fnResidual);
        log.Record(step, !cached);
        HostTensor hidden;
        if (cached)
        {
            _cachedSteps++;
            hidden = HostTensor.Float32(Add(afterFn.Floats, _middleResidual!), afterFn.Shape);
        }
        else
        {
            _fnResidual = fnResidual;
            hidden = options.Fn < middleEnd ? transformer.Blocks(options.Fn, middleEnd, afterFn) : afterFn;
            _middleResidual = Subtract(hidden.Floats, afterFn.Floats);
        }
        if (options.Bn > 0) hidden = transformer.Blocks(middleEnd, blocks, hidden);
        return transformer.Output(hidden);
    }

    bool CanUseCache(int step, float[] fnResidual)
    {
        if (step < options.Warmup) return false;
        if (options.MaxCachedSteps is int max && _cachedSteps >= max) return false;
        if (_fnResidual is null || _middleResidual is null) return false;
        return RelativeL1(fnResidual, _fnResidual) < options.Threshold;
    }

    /// <summary>mean|a − b| / mean|b| (infinite when b is all zeros, so such a step computes).</summary>
    public static double RelativeL1(ReadOnlySpan<float> current, ReadOnlySpan<float> previous)
    {
        if (current.Length != previous.Length)
            throw new InvalidOperationException($"Cache-DiT: the Fn residual changed size ({previous.Length} → {current.Length})");
        double diff = 0, norm = 0;
        for (int i = 0; i < current.Length; i++)
        {
            diff += Math.Abs((double)current[i] - previous[i]);
            norm += Math.Abs((double)previous[i]);
        }
        return norm == 0 ? double.PositiveInfinity : diff / norm;
    }

    static float[] Subtract(float[] a, float[] b)
    {
        var r = new float[a.Length];
        for (int i = 0; i < r.Length; i++) r[i] = a[i] - b[i];
        return r;
    }

    static float[] Add(float[] a, float[] b)
    {
        var r = new float[a.Length];
        for (int i = 0; i < r.Length; i++) r[i] = a[i] + b[i];
        return r;
    }
}
