using VisualGen.Engines;

namespace VisualGen.Schedulers;

/// <summary>
/// A diffusion scheduler working on flat float32 latents. Call <see cref="SetTimesteps"/> once per generation,
/// then <see cref="Step(ReadOnlySpan{float}, int, ReadOnlySpan{float}, Span{float})"/> for step 0, 1, ... in order.
/// </summary>
public interface IScheduler
{
    /// <summary>diffusers' <c>_class_name</c> of this scheduler.</summary>
    string ClassName { get; }

    /// <summary>The timestep fed to the model at each step (diffusers' <c>scheduler.timesteps</c>; float32 or integer values held exactly).</summary>
    IReadOnlyList<double> Timesteps { get; }

    /// <summary>Noise levels: one per step plus the terminal one (diffusers' <c>scheduler.sigmas</c>, float32 values held exactly).</summary>
    IReadOnlyList<double> Sigmas { get; }

    /// <summary>Standard deviation of the initial noise (1 for flow matching).</summary>
    double InitNoiseSigma { get; }

    int NumInferenceSteps { get; }

    /// <summary>
    /// diffusers' <c>set_timesteps</c>. <paramref name="mu"/> is the resolution-dependent shift (required when the config
    /// has use_dynamic_shifting; ignored otherwise, as diffusers does); <paramref name="sigmas"/> a custom schedule of
    /// <paramref name="numInferenceSteps"/> values (FLUX and Qwen-Image pass linspace(1, 1/n, n)). Resets the step history.
    /// </summary>
    void SetTimesteps(int numInferenceSteps, double? mu = null, IReadOnlyList<double>? sigmas = null);

    /// <summary>
    /// One denoising step from <paramref name="sample"/> at step <paramref name="stepIndex"/> to the next noise level,
    /// written to <paramref name="prevSample"/> (which may be the same memory as <paramref name="sample"/> or
    /// <paramref name="modelOutput"/>). Steps must come in order, starting at any index after <see cref="SetTimesteps"/>.
    /// </summary>
    void Step(ReadOnlySpan<float> modelOutput, int stepIndex, ReadOnlySpan<float> sample, Span<float> prevSample);

    /// <summary>
    /// The same step on float32 tensors where an engine computes, through <paramref name="math"/> (the native CUDA engine:
    /// device kernels, nothing read back): the scheduler keeps its history there until <see cref="SetTimesteps"/>.
    /// <paramref name="prevSample"/> may be <paramref name="sample"/> or <paramref name="modelOutput"/>. A generation steps
    /// through one of the two overloads, not both.
    /// </summary>
    void Step(IEngineTensor modelOutput, int stepIndex, IEngineTensor sample, IEngineTensor prevSample, ITensorArithmetic math);

    /// <summary>Frees the state a generation left where it computed (a multistep scheduler's history of device tensors); the
    /// next <see cref="SetTimesteps"/> starts afresh either way.</summary>
    void ReleaseState() { }

    /// <summary>Step into a new array.</summary>
    float[] Step(float[] modelOutput, int stepIndex, float[] sample)
    {
        var prev = new float[sample.Length];
        Step(modelOutput, stepIndex, sample, prev);
        return prev;
    }
}
