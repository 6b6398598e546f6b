using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Vae;

/// <summary>diffusers' DownEncoderBlock2D: resnets, then (except in the last block) a Downsample2D.</summary>
public sealed class DownEncoderBlock2D
{
    readonly ResnetBlock2D[] _resnets;
    readonly Downsample2D? _downsampler;

    public DownEncoderBlock2D(Weights w, int inChannels, int outChannels, int numLayers, int groups, float eps, Func<Tensor, Tensor> act, bool addDownsample)
    {
        _resnets = Enumerable.Range(0, numLayers)
            .Select(i => new ResnetBlock2D(w.Sub($"resnets.{i}"), i == 0 ? inChannels : outChannels, outChannels, groups, eps, act)).ToArray();
        if (addDownsample) _downsampler = new Downsample2D(w.Sub("downsamplers.0"), outChannels);
    }

    public Tensor Forward(Tensor x)
    {
        foreach (var r in _resnets) x = r.Forward(x);
        return _downsampler is null ? x : _downsampler.Forward(x);
    }
}
