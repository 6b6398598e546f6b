using VisualGen.Engines;

namespace VisualGen.Pipelines.Caching;

/// <summary>
/// TeaCache's decision rule as TensorRT-LLM's VisualGen implements it (tensorrt_llm/_torch/visual_gen/cache/teacache.py):
/// rel = mean|e − e_prev| / (mean|e_prev| + 1e-8) over the timestep embedding e of the conditional row; the
/// accumulator grows by |poly(rel)| and is capped at 2·threshold; below the threshold the step reuses the cached
/// residual (prediction = input + residual), otherwise the accumulator is reset and the transformer runs, caching
/// residual = prediction − input. The first step of this cache and the generation's last step always compute.
/// The embedding is remembered at every step, computed or not.
/// </summary>
public sealed class TeaCache(double threshold, IReadOnlyList<double> coefficients, StepCacheLog log) : IStepCache
{
    readonly double[] _coefficients = [.. coefficients];
    float[]? _previousEmbedding;
    IEngineTensor? _residual;
    double _accumulated;

    public IEngineTensor Predict(int step, ICachedTransformer transformer)
    {
        var math = transformer.Arithmetic;
        var embedding = transformer.TimeEmbedding();
        bool compute = ShouldCompute(step, embedding);
        _previousEmbedding = embedding;
        log.Record(step, compute);
        var input = transformer.LatentInput;
        long n = Count(input);
        if (!compute)
        {
            var reused = math.Allocate(_residual!.Shape);
            math.Combine(reused, 0, n, [new LinearTerm(1, input), new LinearTerm(1, _residual)]);
            return reused;
        }
        var output = transformer.Whole();
        if (Count(output) != n)
        {
            output.Dispose();
            throw new InvalidOperationException($"TeaCache: the prediction has {Count(output)} values, its input {n}");
        }
        math.Combine(math.Reuse(ref _residual, output.Shape), 0, n, [new LinearTerm(1, output), new LinearTerm(-1, input)]);
        return output;
    }

    static long Count(IEngineTensor t) => t.Shape.Aggregate(1L, (a, b) => a * b);

    bool ShouldCompute(int step, float[] embedding)
    {
        if (_previousEmbedding is null || _residual is null)
        {
            _accumulated = 0;
            return true;
        }
        if (step >= log.Steps - 1) return true;
        double rel = RelativeL1(embedding, _previousEmbedding);
        _accumulated = Math.Min(_accumulated + Math.Abs(Polynomial(rel)), threshold * 2.0);
        if (_accumulated < threshold) return false;
        _accumulated = 0;
        return true;
    }

    /// <summary>mean|a − b| / (mean|b| + 1e-8).</summary>
    public static double RelativeL1(float[] current, float[] previous)
    {
        if (current.Length != previous.Length)
            throw new InvalidOperationException($"TeaCache: the timestep embedding changed size ({previous.Length} → {current.Length})");
        var (diff, norm) = HostArithmetic.L1Distance(current, previous);
        return diff / current.Length / (norm / current.Length + 1e-8);
    }

    public void Dispose()
    {
        _residual?.Dispose();
        _residual = null;
    }

    /// <summary>The rescaling polynomial at <paramref name="x"/>, coefficients highest power first.</summary>
    public double Polynomial(double x)
    {
        double y = 0;
        foreach (double c in _coefficients) y = y * x + c;
        return y;
    }
}
