namespace VisualGen.Schedulers;

/// <summary>
/// The flow-matching sigma arithmetic shared by the schedulers and the pipelines, in float64 (diffusers' numpy
/// path) and, where diffusers runs it on float32 arrays, in float32 with the same operation order.
/// </summary>
public static class FlowSigmas
{
    /// <summary>
    /// The pipelines' <c>calculate_shift</c>: mu grows linearly with the image token count, from
    /// <paramref name="baseShift"/> at <paramref name="baseSeqLen"/> to <paramref name="maxShift"/> at <paramref name="maxSeqLen"/>.
    /// </summary>
    public static double CalculateShift(long imageSeqLen, int baseSeqLen = 256, int maxSeqLen = 4096,
        double baseShift = 0.5, double maxShift = 1.15)
    {
        if (maxSeqLen == baseSeqLen)
            throw new SchedulerException($"calculate_shift: base_image_seq_len and max_image_seq_len are both {baseSeqLen}");
        double m = (maxShift - baseShift) / (maxSeqLen - baseSeqLen);
        double b = baseShift - m * baseSeqLen;
        return imageSeqLen * m + b;
    }

    /// <summary>numpy.linspace(start, stop, num) in float64, bit for bit (i*step + start, last element = stop).</summary>
    public static double[] Linspace(double start, double stop, int num)
    {
        if (num < 0) throw new ArgumentOutOfRangeException(nameof(num), num, "linspace: num must be >= 0");
        var y = new double[num];
        if (num == 0) return y;
        if (num == 1) { y[0] = start; return y; }
        int div = num - 1;
        double delta = stop - start, step = delta / div;
        for (int i = 0; i < num; i++) y[i] = step == 0 ? i / (double)div * delta + start : i * step + start;
        y[num - 1] = stop;
        return y;
    }

    /// <summary>Static shift: shift·s / (1 + (shift − 1)·s), float64.</summary>
    public static double Shift(double shift, double s) => shift * s / (1 + (shift - 1) * s);

    /// <summary>Static shift on a float32 value, as torch or numpy compute it on float32 arrays.</summary>
    public static float Shift(double shift, float s) => (float)shift * s / (1f + (float)(shift - 1) * s);

    /// <summary>Resolution-dependent time shift with exponent 1 (diffusers' time_shift(mu, 1.0, t)), float64.</summary>
    public static double TimeShift(TimeShiftType type, double mu, double t) => type switch
    {
        TimeShiftType.Exponential => Math.Exp(mu) / (Math.Exp(mu) + (1 / t - 1)),
        _ => mu / (mu + (1 / t - 1)),
    };

    /// <summary>The same on a float32 array element: numpy casts the Python float e^mu (or mu) to float32 first.</summary>
    public static float TimeShift(TimeShiftType type, double mu, float t)
    {
        float a = type == TimeShiftType.Exponential ? (float)Math.Exp(mu) : (float)mu;
        return a / (a + (1f / t - 1f));
    }

    /// <summary>stretch_shift_to_terminal: rescales 1 − s so the last sigma equals <paramref name="terminal"/>, float64, in place.</summary>
    public static void StretchToTerminal(Span<double> s, double terminal)
    {
        CheckStretchable(s[^1] == 1, terminal);
        double scale = (1 - s[^1]) / (1 - terminal);
        for (int i = 0; i < s.Length; i++) s[i] = 1 - (1 - s[i]) / scale;
    }

    /// <summary>The same on float32 arrays (numpy 2 keeps the scalar scale factor in float32 as well), in place.</summary>
    public static void StretchToTerminal(Span<float> s, double terminal)
    {
        CheckStretchable(s[^1] == 1f, terminal);
        float scale = (1f - s[^1]) / (float)(1 - terminal);
        for (int i = 0; i < s.Length; i++) s[i] = 1f - (1f - s[i]) / scale;
    }

    /// <summary>A schedule whose last sigma is 1 (one step from pure noise) cannot be stretched: diffusers divides 0 by 0
    /// there and every sigma becomes NaN. Refused with what to change.</summary>
    static void CheckStretchable(bool lastIsOne, double terminal)
    {
        if (lastIsOne)
            throw new SchedulerException($"num_inference_steps: a schedule whose last sigma is 1 (a single step) cannot be stretched to shift_terminal {terminal} " +
                "(diffusers divides zero by zero there and the result is NaN); use 2 or more steps");
    }

    /// <summary>e^x − 1, accurate near 0 (Kahan's method); −1 at −∞ (the terminal sigma 0 gives h = ∞).</summary>
    public static double Expm1(double x)
    {
        if (double.IsNegativeInfinity(x)) return -1;
        double u = Math.Exp(x);
        if (u == 1.0) return x;
        double um1 = u - 1.0;
        if (um1 == -1.0) return -1;
        if (double.IsPositiveInfinity(u)) return u;
        return um1 * x / Math.Log(u);
    }
}
