using VisualGen.Checkpoints;
using VisualGen.Engines;

namespace VisualGen.Schedulers;

/// <summary>
/// diffusers' FlowMatchEulerDiscreteScheduler: x_{i+1} = x_i + (sigma_{i+1} − sigma_i)·v. The schedule follows
/// diffusers operation by operation: its table at construction (float32, shifted unless dynamic shifting), a float64
/// linspace between that table's ends (so a static shift is applied twice, as diffusers does), the shift, the
/// terminal stretch, then float32. A custom <c>sigmas</c> list is shifted in float32, as diffusers' numpy does.
/// </summary>
public sealed class FlowMatchEulerDiscreteScheduler : IScheduler
{
    public const string Name = "FlowMatchEulerDiscreteScheduler";

    readonly float _sigmaMin, _sigmaMax;
    float[] _sigmas = [];
    float[] _timesteps = [];
    int _nextStep = -1;

    public FlowMatchEulerDiscreteOptions Options { get; }

    public string ClassName => Name;
    public IReadOnlyList<double> Timesteps => Array.ConvertAll(_timesteps, x => (double)x);
    public IReadOnlyList<double> Sigmas => Array.ConvertAll(_sigmas, x => (double)x);
    public double InitNoiseSigma => 1.0;
    public int NumInferenceSteps => _timesteps.Length;

    public FlowMatchEulerDiscreteScheduler(FlowMatchEulerDiscreteOptions options)
    {
        Options = options;
        // The training table: timesteps N..1 (float32), sigmas t/N, shifted when the shift is static.
        int n = options.NumTrainTimesteps;
        _sigmaMax = TrainSigma(n, n);
        _sigmaMin = TrainSigma(1, n);
    }

    public FlowMatchEulerDiscreteScheduler(ComponentConfig config) : this(FlowMatchEulerDiscreteOptions.FromConfig(config)) { }

    float TrainSigma(int t, int n)
    {
        float s = (float)t / n;
        return Options.UseDynamicShifting ? s : FlowSigmas.Shift(Options.Shift, s);
    }

    /// <summary>mu for <paramref name="imageSeqLen"/> latent tokens from this scheduler's config (the pipelines' calculate_shift).</summary>
    public double CalculateShift(long imageSeqLen) => Options.CalculateShift(imageSeqLen);

    public void SetTimesteps(int numInferenceSteps, double? mu = null, IReadOnlyList<double>? sigmas = null)
    {
        if (numInferenceSteps < 1)
            throw new SchedulerException($"num_inference_steps is {numInferenceSteps}, expected >= 1");
        if (Options.UseDynamicShifting && mu is null)
            throw new SchedulerException($"{Name}: mu must be passed when use_dynamic_shifting is true (see CalculateShift)");
        if (sigmas is not null && sigmas.Count != numInferenceSteps)
            throw new SchedulerException($"sigmas has {sigmas.Count} values, num_inference_steps is {numInferenceSteps}: they must agree");
        int n = numInferenceSteps, train = Options.NumTrainTimesteps;
        var s32 = new float[n];
        if (sigmas is null)
        {
            // float64: linspace over the training table's ends, shift, stretch; then float32.
            var s = FlowSigmas.Linspace(_sigmaMax * (double)train, _sigmaMin * (double)train, n);
            for (int i = 0; i < n; i++)
            {
                s[i] /= train;
                s[i] = Options.UseDynamicShifting ? FlowSigmas.TimeShift(Options.TimeShiftType, mu!.Value, s[i]) : FlowSigmas.Shift(Options.Shift, s[i]);
            }
            if (Options.ShiftTerminal is { } term && term != 0) FlowSigmas.StretchToTerminal(s, term);
            for (int i = 0; i < n; i++) s32[i] = (float)s[i];
        }
        else
        {
            // diffusers casts custom sigmas to float32 before shifting: the arithmetic stays float32.
            for (int i = 0; i < n; i++)
            {
                float v = (float)sigmas[i];
                s32[i] = Options.UseDynamicShifting ? FlowSigmas.TimeShift(Options.TimeShiftType, mu!.Value, v) : FlowSigmas.Shift(Options.Shift, v);
            }
            if (Options.ShiftTerminal is { } term && term != 0) FlowSigmas.StretchToTerminal(s32, term);
        }
        var ts = new float[n];
        var all = new float[n + 1];
        for (int i = 0; i < n; i++)
        {
            float sig = Options.InvertSigmas ? 1f - s32[i] : s32[i];
            all[i] = sig;
            ts[i] = sig * train;
        }
        all[n] = Options.InvertSigmas ? 1f : 0f;
        _sigmas = all;
        _timesteps = ts;
        _nextStep = -1;
    }

    public void Step(ReadOnlySpan<float> modelOutput, int stepIndex, ReadOnlySpan<float> sample, Span<float> prevSample)
    {
        SchedulerSteps.CheckStep(Name, stepIndex, ref _nextStep, _timesteps.Length, modelOutput.Length, sample.Length, prevSample.Length);
        // float32 as torch computes it: dt = sigma_next − sigma, then sample + dt·v.
        float dt = _sigmas[stepIndex + 1] - _sigmas[stepIndex];
        for (int i = 0; i < sample.Length; i++) prevSample[i] = sample[i] + dt * modelOutput[i];
    }

    public void Step(IEngineTensor modelOutput, int stepIndex, IEngineTensor sample, IEngineTensor prevSample, ITensorArithmetic math)
    {
        long len = SchedulerSteps.Count(sample);
        SchedulerSteps.CheckStep(Name, stepIndex, ref _nextStep, _timesteps.Length, SchedulerSteps.Count(modelOutput), len, SchedulerSteps.Count(prevSample));
        float dt = _sigmas[stepIndex + 1] - _sigmas[stepIndex];
        math.Combine(prevSample, 0, len, [new LinearTerm(1, sample), new LinearTerm(dt, modelOutput)]);
    }
}
