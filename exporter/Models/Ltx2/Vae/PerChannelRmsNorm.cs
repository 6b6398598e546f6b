using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Models.Ltx2.Vae;

/// <summary>diffusers' PerChannelRMSNorm: x / sqrt(mean(x², channels) + eps), no weight.</summary>
public static class PerChannelRmsNorm
{
    public const float Eps = 1e-8f;

    public static Tensor Forward(Tensor x, float eps = Eps) =>
        x / ((x * x).ReduceMean([1]) + eps).Sqrt();
}
