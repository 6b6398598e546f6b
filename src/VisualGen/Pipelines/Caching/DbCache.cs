using VisualGen.Engines;

namespace VisualGen.Pipelines.Caching;

/// <summary>
/// Cache-DiT's DBCache (docs/DBCache.md of github.com/vipshop/cache-dit), over the token stream:
/// the first Fn blocks run; their residual (output − input) is compared with the Fn residual of the last fully
/// computed step by relative L1, mean|r − r_prev| / mean|r_prev|. Below the threshold (and past the warm-up steps, within
/// the cached-step limit) the middle blocks are skipped: their residual from the last computed step is added instead.
/// Otherwise they run and both residuals are cached. The last Bn blocks always run, then the output head.
/// Everything stays where the transformer's parts compute; the relative L1 is the only value read back.
/// </summary>
public sealed class DbCache(CacheDitOptions options, StepCacheLog log) : IStepCache
{
    IEngineTensor? _fnResidual;
    IEngineTensor? _middleResidual;
    IEngineTensor? _scratch;
    int _cachedSteps;

    public IEngineTensor Predict(int step, ICachedTransformer call)
    {
        var transformer = call as ISplitTransformer
            ?? throw new InvalidOperationException("Cache-DiT runs the transformer in parts; this family's transformer has none");
        var math = transformer.Arithmetic;
        int blocks = transformer.BlockCount;
        options.Validate(blocks);
        int middleEnd = blocks - options.Bn;
        using var tensors = new EngineTensorScope();
        var embedded = tensors.Own(transformer.Embed());
        var afterFn = tensors.Own(transformer.Blocks(0, options.Fn, embedded));
        // this step's Fn residual, into the scratch buffer (it becomes the cached one when the step computes)
        var fnResidual = math.Reuse(ref _scratch, afterFn.Shape);
        Combine(math, fnResidual, afterFn, 1, embedded, -1);
        bool cached = CanUseCache(step, math, fnResidual);
        log.Record(step, !cached);
        IEngineTensor hidden;
        if (cached)
        {
            _cachedSteps++;
            // afterFn + the middle blocks' residual of the last computed step, in place
            Combine(math, afterFn, afterFn, 1, _middleResidual!, 1);
            hidden = afterFn;
        }
        else
        {
            (_fnResidual, _scratch) = (fnResidual, _fnResidual);
            hidden = options.Fn < middleEnd ? tensors.Own(transformer.Blocks(options.Fn, middleEnd, afterFn)) : afterFn;
            Combine(math, math.Reuse(ref _middleResidual, afterFn.Shape), hidden, 1, afterFn, -1);
        }
        if (options.Bn > 0) hidden = tensors.Own(transformer.Blocks(middleEnd, blocks, hidden));
        return transformer.Output(hidden);
    }

    bool CanUseCache(int step, ITensorArithmetic math, IEngineTensor fnResidual)
    {
        if (step - log.FirstStep < options.Warmup) return false;   // warm-up counts the steps run (image-to-image starts part-way)
        if (options.MaxCachedSteps is int max && _cachedSteps >= max) return false;
        if (_fnResidual is null || _middleResidual is null) return false;
        return RelativeL1(math, fnResidual, _fnResidual) < options.Threshold;
    }

    /// <summary>mean|a − b| / mean|b| (infinite when b is all zeros, so such a step computes).</summary>
    public static double RelativeL1(ITensorArithmetic math, IEngineTensor current, IEngineTensor previous)
    {
        if (!current.Shape.SequenceEqual(previous.Shape))
            throw new InvalidOperationException($"Cache-DiT: the Fn residual changed shape ([{string.Join(",", previous.Shape)}] → [{string.Join(",", current.Shape)}])");
        var (diff, norm) = math.L1Distance(current, previous);
        return norm == 0 ? double.PositiveInfinity : diff / norm;
    }

    /// <summary>destination = ca·a + cb·b over the whole tensors.</summary>
    static void Combine(ITensorArithmetic math, IEngineTensor destination, IEngineTensor a, double ca, IEngineTensor b, double cb) =>
        math.Combine(destination, 0, destination.Shape.Aggregate(1L, (x, y) => x * y), [new LinearTerm(ca, a), new LinearTerm(cb, b)]);

    public void Dispose()
    {
        _fnResidual?.Dispose();
        _middleResidual?.Dispose();
        _scratch?.Dispose();
        _fnResidual = _middleResidual = _scratch = null;
    }
}
