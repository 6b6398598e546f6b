using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Tensors;

namespace VisualGen.Schedulers;

/// <summary>
/// diffusers' UniPCMultistepScheduler (UniPC, Zhao et al. 2023) in flow-prediction mode: the model's velocity v is
/// turned into a data prediction x0 = x − sigma·v, a corrector (UniC) refines the previous step's result with the
/// new x0, and a predictor (UniP) of order up to solver_order extrapolates to the next sigma. With alpha = 1 − sigma
/// and lambda = log(alpha) − log(sigma), h = lambda_t − lambda_s0 and the phi/B(h) coefficients are those of
/// multistep_uni_p_bh_update / multistep_uni_c_bh_update. Scalars are float64; elementwise updates run in float64
/// and store float32. The history (x0 of the last steps, the last sample, the current order) lives here and is
/// reset by <see cref="SetTimesteps"/>.
/// </summary>
public sealed class UniPCMultistepScheduler : IScheduler
{
    public const string Name = "UniPCMultistepScheduler";

    float[] _sigmas = [];
    long[] _timesteps = [];
    int _nextStep = -1;

    // History where the steps run (host or device tensors of one ITensorArithmetic): x0 predictions of the last steps,
    // newest last; a spare tensor reused for the next x0; the last (corrected) sample.
    ITensorArithmetic? _math;
    readonly List<IEngineTensor> _history = [];
    IEngineTensor? _spare;
    IEngineTensor? _lastSample;
    bool _hasLastSample;
    int _lowerOrderNums;
    int _thisOrder;

    public UniPCMultistepOptions Options { get; }

    public string ClassName => Name;
    public IReadOnlyList<double> Timesteps => Array.ConvertAll(_timesteps, x => (double)x);
    public IReadOnlyList<double> Sigmas => Array.ConvertAll(_sigmas, x => (double)x);
    public double InitNoiseSigma => 1.0;
    public int NumInferenceSteps => _timesteps.Length;

    public UniPCMultistepScheduler(UniPCMultistepOptions options) => Options = options;

    public UniPCMultistepScheduler(ComponentConfig config) : this(UniPCMultistepOptions.FromConfig(config)) { }

    public void SetTimesteps(int numInferenceSteps, double? mu = null, IReadOnlyList<double>? sigmas = null)
    {
        if (numInferenceSteps < 1)
            throw new SchedulerException($"num_inference_steps is {numInferenceSteps}, expected >= 1");
        if (Options.UseDynamicShifting && mu is null)
            throw new SchedulerException($"{Name}: mu must be passed when use_dynamic_shifting is true");
        if (sigmas is not null && sigmas.Count != numInferenceSteps)
            throw new SchedulerException($"sigmas has {sigmas.Count} values, num_inference_steps is {numInferenceSteps}: they must agree");
        int n = numInferenceSteps, train = Options.NumTrainTimesteps;
        // float64 throughout (numpy), then float32 sigmas and truncated integer timesteps.
        double[] s = sigmas is null ? FlowSigmas.Linspace(1, 1.0 / train, n + 1)[..n] : [.. sigmas];
        for (int i = 0; i < n; i++)
            s[i] = Options.UseDynamicShifting ? FlowSigmas.TimeShift(Options.TimeShiftType, mu!.Value, s[i]) : FlowSigmas.Shift(Options.FlowShift, s[i]);
        if (Options.ShiftTerminal is { } term && term != 0) FlowSigmas.StretchToTerminal(s, term);
        const double eps = 1e-6;
        if (Math.Abs(s[0] - 1) < eps) s[0] -= eps;   // keeps log(1 − sigma) finite at the first step
        var ts = new long[n];
        var all = new float[n + 1];
        for (int i = 0; i < n; i++)
        {
            ts[i] = (long)(s[i] * train);   // torch's float64 → int64 truncates toward zero
            all[i] = (float)s[i];
        }
        all[n] = Options.FinalSigmaZero ? 0f : (float)s[n - 1];
        _sigmas = all;
        _timesteps = ts;
        _nextStep = -1;
        ReleaseHistory();
        _released = false;
        _hasLastSample = false;
        _lowerOrderNums = 0;
        _thisOrder = 0;
    }

    /// <summary>The host overload: the same update over host tensors (<see cref="HostArithmetic"/>).</summary>
    public void Step(ReadOnlySpan<float> modelOutput, int stepIndex, ReadOnlySpan<float> sample, Span<float> prevSample)
    {
        var math = HostArithmetic.Instance;
        var output = new HostResidentTensor(HostTensor.Float32(modelOutput.ToArray(), modelOutput.Length));
        var x = new HostResidentTensor(HostTensor.Float32(sample.ToArray(), sample.Length));
        if (prevSample.Length != sample.Length)   // the tensor step checks the rest
            throw new SchedulerException($"{Name}: model output ({modelOutput.Length}), sample ({sample.Length}) and output ({prevSample.Length}) lengths differ");
        Step(output, stepIndex, x, x, math);
        x.Tensor.Floats.CopyTo(prevSample);
    }

    public void Step(IEngineTensor modelOutput, int stepIndex, IEngineTensor sample, IEngineTensor prevSample, ITensorArithmetic math)
    {
        if (_released) throw new SchedulerException($"{Name}: its state was released after the last generation; call SetTimesteps to start again");
        long len = SchedulerSteps.Count(sample);
        SchedulerSteps.CheckStep(Name, stepIndex, ref _nextStep, _timesteps.Length, SchedulerSteps.Count(modelOutput), len, SchedulerSteps.Count(prevSample));
        if (_math is not null && !ReferenceEquals(_math, math) && _history.Count > 0)
            throw new SchedulerException($"{Name}: a generation steps with one arithmetic (host or device); call SetTimesteps to start again");
        _math = math;
        if (_history.Count > 0 && SchedulerSteps.Count(_history[0]) != len)
            throw new SchedulerException($"{Name}: sample length {len} differs from the previous steps' {SchedulerSteps.Count(_history[0])}");
        int k = stepIndex;

        // convert_model_output (flow_prediction, predict_x0): x0 = x − sigma·v.
        var x0 = _spare ?? math.Allocate([len]);
        _spare = null;
        float sigma = _sigmas[k];
        math.Combine(x0, 0, len, [new LinearTerm(1, sample), new LinearTerm(-sigma, modelOutput)]);

        // Corrector (UniC) on the previous step's result, then remember the corrected sample.
        _lastSample ??= math.Allocate([len]);
        bool useCorrector = k > 0 && _hasLastSample && !Options.DisableCorrector.Contains(k - 1);
        if (useCorrector) Correct(k, x0, _lastSample);
        else math.Copy(_lastSample, 0, sample, 0, len);
        _hasLastSample = true;

        _history.Add(x0);
        if (_history.Count > Options.SolverOrder) { _spare = _history[0]; _history.RemoveAt(0); }

        int order = Options.LowerOrderFinal ? Math.Min(Options.SolverOrder, _timesteps.Length - k) : Options.SolverOrder;
        _thisOrder = Math.Min(order, _lowerOrderNums + 1);
        Predict(k, _lastSample, prevSample);
        if (_lowerOrderNums < Options.SolverOrder) _lowerOrderNums++;
    }

    public void ReleaseState()
    {
        ReleaseHistory();
        _released = true;
    }

    bool _released;

    void ReleaseHistory()
    {
        foreach (var t in _history) t.Dispose();
        _history.Clear();
        _spare?.Dispose();
        _spare = null;
        _lastSample?.Dispose();
        _lastSample = null;
        _math = null;
    }

    static double Lambda(float sigma) => Math.Log(1.0 - sigma) - Math.Log(sigma);

    /// <summary>
    /// The B(h)-weighted coefficient vectors of UniPC for one update from sigma_s0 to sigma_t: hh = −h,
    /// h·phi_1 = e^hh − 1, and b_i = h·phi_{i+1}·i! / B(h) for i = 1..order.
    /// </summary>
    (double hPhi1, double bh, double[] b) Coefficients(double h, int order)
    {
        double hh = -h;
        double hPhi1 = FlowSigmas.Expm1(hh);
        double hPhiK = hPhi1 / hh - 1;
        double bh = Options.SolverType == UniPCSolverType.Bh1 ? hh : FlowSigmas.Expm1(hh);
        var b = new double[order];
        double factorial = 1;
        for (int i = 1; i <= order; i++)
        {
            b[i - 1] = hPhiK * factorial / bh;
            factorial *= i + 1;
            hPhiK = hPhiK / hh - 1 / factorial;
        }
        return (hPhi1, bh, b);
    }

    /// <summary>R[i][j] = rks[j]^i (diffusers stacks torch.pow(rks, i)).</summary>
    static double[,] PowerMatrix(double[] rks, int size)
    {
        var r = new double[size, size];
        for (int i = 0; i < size; i++)
            for (int j = 0; j < size; j++) r[i, j] = Math.Pow(rks[j], i);
        return r;
    }

    /// <summary>multistep_uni_p_bh_update: predicts the sample at sigma[k+1] from x (at sigma[k]) and the x0 history.</summary>
    void Predict(int k, IEngineTensor x, IEngineTensor result)
    {
        int order = _thisOrder;
        float sigmaT = _sigmas[k + 1], sigmaS0 = _sigmas[k];
        double alphaT = 1.0 - sigmaT;
        double lambdaS0 = Lambda(sigmaS0), h = Lambda(sigmaT) - lambdaS0;
        var rks = new double[order];
        for (int i = 1; i < order; i++) rks[i - 1] = (Lambda(_sigmas[k - i]) - lambdaS0) / h;
        rks[order - 1] = 1;
        var (hPhi1, bh, b) = Coefficients(h, order);

        // x_t = sigma_t/sigma_s0·x − alpha_t·h·phi_1·m0 − alpha_t·B(h)·Σ rho_i·D1_i, D1_i = (m_i − m0)/r_i.
        double cx = sigmaT / (double)sigmaS0, cm0 = -alphaT * hPhi1;
        var cd = new double[order - 1];
        if (order > 1)
        {
            double[] rhos = order == 2 ? [0.5] : LinearSolve.Solve(PowerMatrix(rks, order - 1), b[..(order - 1)]);
            for (int i = 0; i < order - 1; i++) cd[i] = -alphaT * bh * rhos[i] / rks[i];
        }
        // With no history terms the B(h)·0 term is left out: at the terminal sigma 0 with bh1, B(h) = −∞ and
        // diffusers' (−∞)·0 would give NaN where the limit is x0.
        Combine(x, cx, cm0, cd, null, 0, result);
    }

    /// <summary>multistep_uni_c_bh_update: corrects the last sample (at sigma[k−1] → sigma[k]) with the new x0, in place.</summary>
    void Correct(int k, IEngineTensor x0New, IEngineTensor lastSample)
    {
        int order = _thisOrder;
        float sigmaT = _sigmas[k], sigmaS0 = _sigmas[k - 1];
        double alphaT = 1.0 - sigmaT;
        double lambdaS0 = Lambda(sigmaS0), h = Lambda(sigmaT) - lambdaS0;
        var rks = new double[order];
        for (int i = 1; i < order; i++) rks[i - 1] = (Lambda(_sigmas[k - (i + 1)]) - lambdaS0) / h;
        rks[order - 1] = 1;
        var (hPhi1, bh, b) = Coefficients(h, order);
        double[] rhos = order == 1 ? [0.5] : LinearSolve.Solve(PowerMatrix(rks, order), b);

        // x_t = sigma_t/sigma_s0·x − alpha_t·h·phi_1·m0 − alpha_t·B(h)·(Σ rho_i·D1_i + rho_last·(x0_new − m0)).
        double cx = sigmaT / (double)sigmaS0, cm0 = -alphaT * hPhi1;
        var cd = new double[order - 1];
        for (int i = 0; i < order - 1; i++) cd[i] = -alphaT * bh * rhos[i] / rks[i];
        Combine(lastSample, cx, cm0, cd, x0New, -alphaT * bh * rhos[order - 1], lastSample);
    }

    /// <summary>
    /// result = cx·x + cm0·m0 + Σ cd_i·(m_i − m0) + cNew·(x0New − m0), with m0 the newest history entry and m_i the
    /// i-th older one, as one linear combination (float64 per element, stored as float32). <paramref name="result"/> may
    /// be <paramref name="x"/>.
    /// </summary>
    void Combine(IEngineTensor x, double cx, double cm0, double[] cd, IEngineTensor? x0New, double cNew, IEngineTensor result)
    {
        int n = _history.Count;
        var terms = new List<LinearTerm> { new(cx, x) };
        double m0Coef = cm0 - cd.Sum() - (x0New is null ? 0 : cNew);
        terms.Add(new(m0Coef, _history[n - 1]));
        for (int i = 0; i < cd.Length; i++) terms.Add(new(cd[i], _history[n - 2 - i]));
        if (x0New is not null) terms.Add(new(cNew, x0New));
        _math!.Combine(result, 0, SchedulerSteps.Count(x), [.. terms]);
    }
}
