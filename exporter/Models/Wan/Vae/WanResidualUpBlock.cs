using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>diffusers' WanResidualUpBlock (Wan 2.2 decoder): residual blocks and an optional upsampler (keeping
/// out_dim channels), plus a DupUp3D shortcut of the block's input when it upsamples.</summary>
public sealed class WanResidualUpBlock : IWanUpBlock
{
    readonly WanResidualBlock[] _resnets;
    readonly WanResample? _upsampler;
    readonly DupUp3D? _shortcut;

    public WanResidualUpBlock(Weights w, int inDim, int outDim, int numResBlocks, bool temperalUpsample, bool upFlag)
    {
        _shortcut = upFlag ? new DupUp3D(inDim, outDim, temperalUpsample ? 2 : 1, 2) : null;
        _resnets = Enumerable.Range(0, numResBlocks + 1)
            .Select(i => new WanResidualBlock(w.Sub($"resnets.{i}"), i == 0 ? inDim : outDim, outDim)).ToArray();
        _upsampler = upFlag
            ? new WanResample(w.Sub("upsampler"), outDim, temperalUpsample ? WanResampleMode.Upsample3d : WanResampleMode.Upsample2d, outDim)
            : null;
    }

    public Tensor Forward(Tensor x, WanFeatureCache cache)
    {
        var input = x;
        foreach (var r in _resnets) x = r.Forward(x, cache);
        if (_upsampler is not null) x = _upsampler.Forward(x, cache);
        if (_shortcut is not null) x = x + _shortcut.Forward(input, cache.Chunk);
        return x;
    }
}
