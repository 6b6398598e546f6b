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
    float[]? _residual;
    double _accumulated;

    public float[] Predict(int step, ICachedTransformer transformer)
    {
        var embedding = transformer.TimeEmbedding();
        bool compute = ShouldCompute(step, embedding);
        _previousEmbedding = embedding;
        log.Record(step, compute);
        var input = transformer.LatentInput;
        if (!compute)
        {
            var reused = new float[input.Length];
            for (int i = 0; i < reused.Length; i++) reused[i] = input[i] + _residual![i];
            return reused;
        }
        var output = transformer.Whole();
        if (output.Length != input.Length)
            throw new InvalidOperationException($"TeaCache: the prediction has {output.Length} values, its input {input.Length}");
        _residual = new float[output.Length];
        for (int i = 0; i < output.Length; i++) _residual[i] = output[i] - input[i];
        return output;
    }

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
    public static double RelativeL1(ReadOnlySpan<float> current, ReadOnlySpan<float> previous)
    {
        if (current.Length != previous.Length)
            throw new InvalidOperationException($"TeaCache: the timestep embedding changed size ({previous.Length} → {current.Length})");
        double diff = 0, norm = 0;
        for (int i = 0; i < current.Length; i++)
        {
            diff += Math.Abs((double)current[i] - previous[i]);
            norm += Math.Abs((double)previous[i]);
        }
        return diff / current.Length / (norm / current.Length + 1e-8);
    }

    /// <summary>TeaCache holds host arrays only.</summary>
    public void Dispose() { }

    /// <summary>The rescaling polynomial at <paramref name="x"/>, coefficients highest power first.</summary>
    public double Polynomial(double x)
    {
        double y = 0;
        foreach (double c in _coefficients) y = y * x + c;
        return y;
    }
}
