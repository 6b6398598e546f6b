using VisualGen.Checkpoints;

namespace VisualGen.Schedulers;

/// <summary>
/// UniPCMultistepScheduler's config in the flow-prediction mode Wan checkpoints ship (use_flow_sigmas,
/// prediction_type flow_prediction, predict_x0). Other modes are refused with the key and value named.
/// </summary>
public sealed record UniPCMultistepOptions
{
    public int NumTrainTimesteps { get; init; } = 1000;
    public int SolverOrder { get; init; } = 2;
    public UniPCSolverType SolverType { get; init; } = UniPCSolverType.Bh2;
    public bool LowerOrderFinal { get; init; } = true;
    /// <summary>Step indices after which the corrector is skipped (diffusers' disable_corrector).</summary>
    public IReadOnlyList<int> DisableCorrector { get; init; } = [];
    public double FlowShift { get; init; } = 1.0;
    public bool UseDynamicShifting { get; init; }
    public TimeShiftType TimeShiftType { get; init; } = TimeShiftType.Exponential;
    public double? ShiftTerminal { get; init; }
    /// <summary>True: the last sigma is 0 ("zero"); false: the last step's sigma is repeated ("sigma_min").</summary>
    public bool FinalSigmaZero { get; init; } = true;

    public static UniPCMultistepOptions FromConfig(ComponentConfig c)
    {
        c.RequireOneOf("prediction_type", "epsilon", "flow_prediction");
        if (!c.GetBool("use_flow_sigmas", false))
            throw c.Unsupported("use_flow_sigmas", "only the flow-matching mode (use_flow_sigmas: true) is implemented");
        if (!c.GetBool("predict_x0", true))
            throw c.Unsupported("predict_x0", "flow_prediction needs predict_x0: true");
        foreach (var key in new[] { "thresholding", "use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas" })
            c.RejectTrue(key);
        if (c.Has("solver_p")) throw c.Unsupported("solver_p", "an external predictor scheduler");
        // With flow sigmas the timesteps are sigma·N whatever the spacing; diffusers still rejects unknown values.
        c.RequireOneOf("timestep_spacing", "linspace", "linspace", "leading", "trailing");
        // diffusers maps these legacy names to bh2.
        var solver = c.RequireOneOf("solver_type", "bh2", "bh1", "bh2", "midpoint", "heun", "logrho");
        var o = new UniPCMultistepOptions
        {
            NumTrainTimesteps = c.GetInt("num_train_timesteps", 1000),
            SolverOrder = c.GetInt("solver_order", 2),
            SolverType = solver == "bh1" ? UniPCSolverType.Bh1 : UniPCSolverType.Bh2,
            LowerOrderFinal = c.GetBool("lower_order_final", true),
            DisableCorrector = c.GetIntArray("disable_corrector", []),
            FlowShift = c.GetDouble("flow_shift", 1.0),
            UseDynamicShifting = c.GetBool("use_dynamic_shifting", false),
            TimeShiftType = c.RequireOneOf("time_shift_type", "exponential", "exponential", "linear") == "linear"
                ? TimeShiftType.Linear : TimeShiftType.Exponential,
            ShiftTerminal = c.GetOptionalDouble("shift_terminal"),
            FinalSigmaZero = c.RequireOneOf("final_sigmas_type", "zero", "zero", "sigma_min") == "zero",
        };
        if (o.SolverOrder < 1) throw c.Unsupported("solver_order", "expected >= 1");
        if (o.NumTrainTimesteps < 1) throw c.Unsupported("num_train_timesteps", "expected >= 1");
        // a shift at or below zero maps the sigmas out of (0, 1]: the generation diverges to NaN (unused under dynamic shifting)
        if (!o.UseDynamicShifting && (!(o.FlowShift > 0) || double.IsInfinity(o.FlowShift))) throw c.Unsupported("flow_shift", "expected a positive number");
        if (o.ShiftTerminal is >= 1) throw c.Unsupported("shift_terminal", "expected < 1");
        if (!o.LowerOrderFinal && o.SolverOrder > 1 && o.FinalSigmaZero)
            throw c.Unsupported("lower_order_final",
                "false with final_sigmas_type \"zero\" makes the last multistep update divide by log(0); diffusers returns inf/NaN there");
        return o;
    }
}
