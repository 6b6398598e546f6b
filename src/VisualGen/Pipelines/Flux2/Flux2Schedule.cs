using VisualGen.Schedulers;

namespace VisualGen.Pipelines.Flux2;

/// <summary>Flux2Pipeline's schedule: sigmas linspace(1, 1/n, n) shifted by an empirical mu that depends on the image
/// token count and the number of steps (compute_empirical_mu, fitted by Black Forest Labs), in float64 as Python.</summary>
public static class Flux2Schedule
{
    public static double EmpiricalMu(long imageSeqLen, int numSteps)
    {
        const double a1 = 8.73809524e-05, b1 = 1.89833333;
        const double a2 = 0.00016927, b2 = 0.45666666;
        if (imageSeqLen > 4300) return a2 * imageSeqLen + b2;
        double m200 = a2 * imageSeqLen + b2;
        double m10 = a1 * imageSeqLen + b1;
        double a = (m200 - m10) / 190.0;
        double b = m200 - 200.0 * a;
        return a * numSteps + b;
    }

    /// <summary>Sets the scheduler's timesteps as the pipeline does for <paramref name="imageSeqLen"/> image tokens.</summary>
    public static void SetTimesteps(IScheduler scheduler, int steps, long imageSeqLen) =>
        scheduler.SetTimesteps(steps, EmpiricalMu(imageSeqLen, steps), FlowSigmas.Linspace(1.0, 1.0 / steps, steps));
}
