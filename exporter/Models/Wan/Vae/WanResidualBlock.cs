using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>diffusers' WanResidualBlock: norm1 → SiLU → causal conv1 → norm2 → SiLU → (dropout) → causal conv2,
/// plus a 1×1×1 shortcut conv when the channel count changes.</summary>
public sealed class WanResidualBlock : IWanVaeLayer
{
    readonly WanRmsNorm _norm1, _norm2;
    readonly WanCausalConv3d _conv1, _conv2;
    readonly WanCausalConv3d? _convShortcut;

    public WanResidualBlock(Weights w, int inDim, int outDim)
    {
        _norm1 = new WanRmsNorm(w.Sub("norm1"), inDim, images: false);
        _conv1 = new WanCausalConv3d(w.Sub("conv1"), inDim, outDim, 3, padding: 1);
        _norm2 = new WanRmsNorm(w.Sub("norm2"), outDim, images: false);
        _conv2 = new WanCausalConv3d(w.Sub("conv2"), outDim, outDim, 3, padding: 1);
        _convShortcut = inDim != outDim ? new WanCausalConv3d(w.Sub("conv_shortcut"), inDim, outDim, 1) : null;
    }

    public Tensor Forward(Tensor x, WanFeatureCache cache)
    {
        var h = _convShortcut is null ? x : _convShortcut.Forward(x, null);
        x = _norm1.Forward(x).Silu();
        x = _conv1.Forward(x, cache);
        x = _norm2.Forward(x).Silu();
        x = _conv2.Forward(x, cache);
        return x + h;
    }
}
