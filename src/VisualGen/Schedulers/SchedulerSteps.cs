namespace VisualGen.Schedulers;

/// <summary>Argument checks shared by the schedulers' Step.</summary>
static class SchedulerSteps
{
    /// <summary>
    /// Validates one Step call: timesteps set, index in range, steps in order (the first may start anywhere, as
    /// diffusers' set_begin_index allows), and equal lengths. Advances <paramref name="nextStep"/>.
    /// </summary>
    public static void CheckStep(string scheduler, int stepIndex, ref int nextStep, int steps, long modelLength, long sampleLength, long prevLength)
    {
        if (steps == 0) throw new SchedulerException($"{scheduler}: Step called before SetTimesteps");
        if (stepIndex < 0 || stepIndex >= steps)
            throw new SchedulerException($"{scheduler}: step index {stepIndex} is outside 0..{steps - 1}");
        if (nextStep >= 0 && stepIndex != nextStep)
            throw new SchedulerException($"{scheduler}: step index {stepIndex} out of order, expected {nextStep} (call SetTimesteps to start again)");
        if (modelLength != sampleLength || prevLength != sampleLength)
            throw new SchedulerException(
                $"{scheduler}: model output ({modelLength}), sample ({sampleLength}) and output ({prevLength}) lengths differ");
        nextStep = stepIndex + 1;
    }

    /// <summary>Elements of a float32 tensor a scheduler steps (any shape: schedulers are elementwise).</summary>
    public static long Count(Engines.IEngineTensor t) =>
        t.DType == Checkpoints.TensorDType.F32 ? t.Shape.Aggregate(1L, (a, b) => a * b)
            : throw new SchedulerException($"schedulers step float32 tensors, got {t.DType}");
}
