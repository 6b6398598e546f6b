using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Ltx2.AudioVae;

/// <summary>The audio VAE's norm by norm_type: LTX2AudioPixelNorm (x / sqrt(mean(x², channels) + 1e-6), no weight)
/// or GroupNorm(32 groups, eps 1e-6, affine).</summary>
public sealed class Ltx2AudioNorm
{
    const float Eps = 1e-6f;
    readonly GroupNorm? _group;

    public Ltx2AudioNorm(Weights w, int channels, string normType)
    {
        if (normType == "group") _group = new GroupNorm(w, 32, channels, Eps);
    }

    public Tensor Forward(Tensor x) => _group?.Forward(x) ?? x / ((x * x).ReduceMean([1]) + Eps).Sqrt();
}
