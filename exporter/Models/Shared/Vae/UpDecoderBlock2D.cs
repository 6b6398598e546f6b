using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Vae;

/// <summary>diffusers' UpDecoderBlock2D: resnets, then (except in the last block) an Upsample2D.</summary>
public sealed class UpDecoderBlock2D
{
    readonly ResnetBlock2D[] _resnets;
    readonly Upsample2D? _upsampler;

    public UpDecoderBlock2D(Weights w, int inChannels, int outChannels, int numLayers, int groups, float eps, Func<Tensor, Tensor> act, bool addUpsample)
    {
        _resnets = Enumerable.Range(0, numLayers)
            .Select(i => new ResnetBlock2D(w.Sub($"resnets.{i}"), i == 0 ? inChannels : outChannels, outChannels, groups, eps, act)).ToArray();
        if (addUpsample) _upsampler = new Upsample2D(w.Sub("upsamplers.0"), outChannels);
    }

    public Tensor Forward(Tensor x)
    {
        foreach (var r in _resnets) x = r.Forward(x);
        return _upsampler is null ? x : _upsampler.Forward(x);
    }
}
