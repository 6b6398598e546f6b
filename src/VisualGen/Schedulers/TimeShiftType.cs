namespace VisualGen.Schedulers;

/// <summary>How a resolution-dependent shift <c>mu</c> bends the sigma schedule (config key time_shift_type).</summary>
public enum TimeShiftType
{
    /// <summary>sigma' = e^mu / (e^mu + (1/sigma - 1)).</summary>
    Exponential,
    /// <summary>sigma' = mu / (mu + (1/sigma - 1)).</summary>
    Linear,
}
