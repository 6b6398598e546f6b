using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>diffusers' WanResidualDownBlock (Wan 2.2 encoder): residual blocks and an optional downsampler, plus
/// an AvgDown3D shortcut of the block's input (always added; an identity average when nothing is downsampled).</summary>
public sealed class WanResidualDownBlock : IWanVaeLayer
{
    readonly AvgDown3D _shortcut;
    readonly WanResidualBlock[] _resnets;
    readonly WanResample? _downsampler;

    public WanResidualDownBlock(Weights w, int inDim, int outDim, int numResBlocks, bool temperalDownsample, bool downFlag)
    {
        _shortcut = new AvgDown3D(inDim, outDim, temperalDownsample ? 2 : 1, downFlag ? 2 : 1);
        _resnets = Enumerable.Range(0, numResBlocks)
            .Select(i => new WanResidualBlock(w.Sub($"resnets.{i}"), i == 0 ? inDim : outDim, outDim)).ToArray();
        _downsampler = downFlag
            ? new WanResample(w.Sub("downsampler"), outDim, temperalDownsample ? WanResampleMode.Downsample3d : WanResampleMode.Downsample2d)
            : null;
    }

    public Tensor Forward(Tensor x, WanFeatureCache cache)
    {
        var input = x;
        foreach (var r in _resnets) x = r.Forward(x, cache);
        if (_downsampler is not null) x = _downsampler.Forward(x, cache);
        return x + _shortcut.Forward(input, cache.Chunk);
    }
}
