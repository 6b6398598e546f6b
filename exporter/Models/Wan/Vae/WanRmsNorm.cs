using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>
/// diffusers' WanRMS_norm (channel-first): F.normalize over the channel axis, x / max(‖x‖₂, 1e-12), times
/// √dim and gamma. The attention block's gamma is stored [dim, 1, 1] (images=True); it is applied to
/// [B, C, T, H, W] here, so it is viewed as [dim, 1, 1, 1].
/// </summary>
public sealed class WanRmsNorm
{
    const float NormalizeEps = 1e-12f;   // torch.nn.functional.normalize's default
    readonly Tensor _gamma;
    readonly float _scale;

    public WanRmsNorm(Weights w, int dim, bool images)
    {
        _scale = MathF.Sqrt(dim);
        var gamma = w.Get("gamma", images ? [dim, 1, 1] : [dim, 1, 1, 1]);
        _gamma = images ? gamma.Unsqueeze(3) : gamma;
    }

    /// <summary>x: [B, C, T, H, W].</summary>
    public Tensor Forward(Tensor x)
    {
        var norm = (x * x).ReduceSum([1]).Sqrt();
        var normalized = x / norm.Max(x.Tracer.Scalar(NormalizeEps));
        return normalized * _scale * _gamma;
    }
}
