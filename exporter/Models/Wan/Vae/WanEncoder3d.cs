using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Wan;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>diffusers' WanEncoder3d: causal conv_in, down blocks (flat residual/resample layers for Wan 2.1,
/// WanResidualDownBlocks for Wan 2.2), mid block, RMS norm, SiLU, causal conv_out to 2·z_dim channels.</summary>
public sealed class WanEncoder3d
{
    readonly WanCausalConv3d _convIn, _convOut;
    readonly IWanVaeLayer[] _downBlocks;
    readonly WanMidBlock _midBlock;
    readonly WanRmsNorm _normOut;

    public WanEncoder3d(Weights w, WanVaeConfig c, int inChannels)
    {
        int[] dims = [c.BaseDim, .. c.DimMult.Select(u => c.BaseDim * u)];
        _convIn = new WanCausalConv3d(w.Sub("conv_in"), inChannels, dims[0], 3, padding: 1);
        var layers = new List<IWanVaeLayer>();
        int last = c.DimMult.Length - 1;
        for (int i = 0; i <= last; i++)
        {
            int inDim = dims[i], outDim = dims[i + 1];
            if (c.IsResidual)
            {
                layers.Add(new WanResidualDownBlock(w.Sub($"down_blocks.{layers.Count}"), inDim, outDim, c.NumResBlocks,
                    i != last && c.TemperalDownsample[i], downFlag: i != last));
                continue;
            }
            for (int j = 0; j < c.NumResBlocks; j++)
            {
                layers.Add(new WanResidualBlock(w.Sub($"down_blocks.{layers.Count}"), inDim, outDim));
                inDim = outDim;
            }
            if (i != last)
                layers.Add(new WanResample(w.Sub($"down_blocks.{layers.Count}"), outDim,
                    c.TemperalDownsample[i] ? WanResampleMode.Downsample3d : WanResampleMode.Downsample2d));
        }
        _downBlocks = [.. layers];
        int top = dims[^1];
        _midBlock = new WanMidBlock(w.Sub("mid_block"), top);
        _normOut = new WanRmsNorm(w.Sub("norm_out"), top, images: false);
        _convOut = new WanCausalConv3d(w.Sub("conv_out"), top, c.ZDim * 2, 3, padding: 1);
    }

    public Tensor Forward(Tensor x, WanFeatureCache cache)
    {
        x = _convIn.Forward(x, cache);
        foreach (var layer in _downBlocks) x = layer.Forward(x, cache);
        x = _midBlock.Forward(x, cache);
        x = _normOut.Forward(x).Silu();
        return _convOut.Forward(x, cache);
    }
}
