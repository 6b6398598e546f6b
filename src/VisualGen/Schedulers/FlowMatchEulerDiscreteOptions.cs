using VisualGen.Checkpoints;

namespace VisualGen.Schedulers;

/// <summary>FlowMatchEulerDiscreteScheduler's config (diffusers' names and defaults).</summary>
public sealed record FlowMatchEulerDiscreteOptions
{
    public int NumTrainTimesteps { get; init; } = 1000;
    public double Shift { get; init; } = 1.0;
    public bool UseDynamicShifting { get; init; }
    public double? BaseShift { get; init; } = 0.5;
    public double? MaxShift { get; init; } = 1.15;
    public int BaseImageSeqLen { get; init; } = 256;
    public int MaxImageSeqLen { get; init; } = 4096;
    public bool InvertSigmas { get; init; }
    /// <summary>When set (non-zero), the schedule is stretched so its last sigma equals this value.</summary>
    public double? ShiftTerminal { get; init; }
    public TimeShiftType TimeShiftType { get; init; } = TimeShiftType.Exponential;

    /// <summary>Reads the options; karras/exponential/beta sigmas and stochastic sampling are refused with the key named.</summary>
    public static FlowMatchEulerDiscreteOptions FromConfig(ComponentConfig c)
    {
        foreach (var key in new[] { "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "stochastic_sampling" })
            c.RejectTrue(key);
        var o = new FlowMatchEulerDiscreteOptions
        {
            NumTrainTimesteps = c.GetInt("num_train_timesteps", 1000),
            Shift = c.GetDouble("shift", 1.0),
            UseDynamicShifting = c.GetBool("use_dynamic_shifting", false),
            BaseShift = c.GetOptionalDouble("base_shift", 0.5),
            MaxShift = c.GetOptionalDouble("max_shift", 1.15),
            BaseImageSeqLen = c.GetInt("base_image_seq_len", 256),
            MaxImageSeqLen = c.GetInt("max_image_seq_len", 4096),
            InvertSigmas = c.GetBool("invert_sigmas", false),
            ShiftTerminal = c.GetOptionalDouble("shift_terminal"),
            TimeShiftType = c.RequireOneOf("time_shift_type", "exponential", "exponential", "linear") == "linear"
                ? TimeShiftType.Linear : TimeShiftType.Exponential,
        };
        if (o.NumTrainTimesteps < 1) throw c.Unsupported("num_train_timesteps", "expected >= 1");
        // a shift at or below zero maps the sigmas out of (0, 1]: the generation diverges to NaN (unused under dynamic shifting)
        if (!o.UseDynamicShifting && (!(o.Shift > 0) || double.IsInfinity(o.Shift))) throw c.Unsupported("shift", "expected a positive number");
        if (o.ShiftTerminal is >= 1) throw c.Unsupported("shift_terminal", "expected < 1");
        return o;
    }

    /// <summary>mu for an image of <paramref name="imageSeqLen"/> latent tokens, as the FLUX and Qwen-Image pipelines compute it from this config.</summary>
    public double CalculateShift(long imageSeqLen) =>
        FlowSigmas.CalculateShift(imageSeqLen, BaseImageSeqLen, MaxImageSeqLen,
            BaseShift ?? throw new SchedulerException("calculate_shift: the scheduler config's base_shift is null"),
            MaxShift ?? throw new SchedulerException("calculate_shift: the scheduler config's max_shift is null"));
}
