using VisualGen.Checkpoints;

namespace VisualGen.Pipelines;

/// <summary>
/// A request's <c>shift</c> (the CLI's <c>--shift</c>) replaces the scheduler's shift or flow_shift, as diffusers'
/// <c>from_config(config, shift=...)</c> does. A scheduler with <c>use_dynamic_shifting</c> (FLUX.1, FLUX.2, Qwen-Image,
/// LTX-2's) shifts its sigmas by the image size instead and never reads it: such a request is refused rather than run
/// unshifted as if it had been honoured. A scheduler with <c>shift_terminal</c> stretches the schedule so that it ends
/// there; one step's schedule is [1], which it cannot stretch (diffusers divides zero by zero and returns NaN latents),
/// so one step is refused before the prompt is encoded. A shift that is not a positive number is refused here too, with the
/// request's other arguments, rather than when the scheduler is built mid-run.
/// </summary>
public static class SchedulerShift
{
    /// <summary>Whether a request's shift applies to this scheduler (it has no dynamic shifting).</summary>
    public static bool Applies(ComponentConfig schedulerConfig) => !schedulerConfig.GetBool("use_dynamic_shifting", false);

    public static void Check(GenerationRequest r, ComponentConfig schedulerConfig, string family, int steps)
    {
        if (r.Shift is { } shift && (!(shift > 0) || double.IsInfinity(shift)))
            throw new GenerationException("shift", $"shift must be a positive number, got {shift}");
        if (steps < 2 && schedulerConfig.GetOptionalDouble("shift_terminal") is { } terminal && terminal != 0)
            throw new GenerationException("num_inference_steps",
                $"num_inference_steps must be at least 2 for this model (its scheduler stretches the schedule to shift_terminal {terminal}, which one step cannot reach), got {steps}");
        if (r.Shift is not null && !Applies(schedulerConfig))
            throw new GenerationException("shift", $"{family}'s scheduler shifts its sigmas by the image size (use_dynamic_shifting), so a shift " +
                "has no effect on it; remove shift (it applies to schedulers without dynamic shifting, such as Wan's)");
        // the scheduler this request would run, built from its config now (a value it cannot run names the file and key
        // here, before the prompt is encoded, not when the denoising loop starts)
        VisualGen.Schedulers.SchedulerRegistry.Default.Create(schedulerConfig, r.Shift);
    }
}
