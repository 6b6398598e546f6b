using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>diffusers' WanUpBlock (Wan 2.1 decoder): num_res_blocks + 1 residual blocks, then an optional
/// upsamplers.0 (output channels dim / 2).</summary>
public sealed class WanUpBlock : IWanUpBlock
{
    readonly WanResidualBlock[] _resnets;
    readonly WanResample? _upsampler;

    public WanUpBlock(Weights w, int inDim, int outDim, int numResBlocks, WanResampleMode? upsampleMode)
    {
        _resnets = Enumerable.Range(0, numResBlocks + 1)
            .Select(i => new WanResidualBlock(w.Sub($"resnets.{i}"), i == 0 ? inDim : outDim, outDim)).ToArray();
        _upsampler = upsampleMode is WanResampleMode m ? new WanResample(w.Sub("upsamplers.0"), outDim, m) : null;
    }

    public Tensor Forward(Tensor x, WanFeatureCache cache)
    {
        foreach (var r in _resnets) x = r.Forward(x, cache);
        return _upsampler is null ? x : _upsampler.Forward(x, cache);
    }
}
