using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Ltx2.Vae;

/// <summary>diffusers' LTX2VideoUpBlock3d: a resnet to the block's channels when they change (conv_in), the
/// upsampler, then the resnets. The mid block (LTX2VideoMidBlock3d) is this block with resnets only.</summary>
public sealed class Ltx2VideoUpBlock3d
{
    readonly Ltx2VideoResnetBlock3d? _convIn;
    readonly Ltx2VideoUpsampler3d? _upsampler;
    readonly Ltx2VideoResnetBlock3d[] _resnets;

    public Ltx2VideoUpBlock3d(Weights w, int inChannels, int outChannels, int numLayers, float eps, string spatialPaddingMode,
        int[]? upsampleStride = null, bool upsampleResidual = false, int upscaleFactor = 1)
    {
        if (inChannels != outChannels) _convIn = new Ltx2VideoResnetBlock3d(w.Sub("conv_in"), inChannels, outChannels, eps, spatialPaddingMode);
        if (upsampleStride is not null)
            _upsampler = new Ltx2VideoUpsampler3d(w.Sub("upsamplers.0"), outChannels * upscaleFactor, upsampleStride, upsampleResidual, upscaleFactor, spatialPaddingMode);
        _resnets = Enumerable.Range(0, numLayers)
            .Select(i => new Ltx2VideoResnetBlock3d(w.Sub($"resnets.{i}"), outChannels, outChannels, eps, spatialPaddingMode)).ToArray();
    }

    public Tensor Forward(Tensor x, bool causal)
    {
        if (_convIn is not null) x = _convIn.Forward(x, causal);
        if (_upsampler is not null) x = _upsampler.Forward(x, causal);
        foreach (var r in _resnets) x = r.Forward(x, causal);
        return x;
    }
}
