using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Wan;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>diffusers' WanDecoder3d: causal conv_in, mid block, up blocks (WanUpBlock for Wan 2.1,
/// WanResidualUpBlock for Wan 2.2), RMS norm, SiLU, causal conv_out.</summary>
public sealed class WanDecoder3d
{
    readonly WanCausalConv3d _convIn, _convOut;
    readonly WanMidBlock _midBlock;
    readonly IWanUpBlock[] _upBlocks;
    readonly WanRmsNorm _normOut;

    public WanDecoder3d(Weights w, WanVaeConfig c, int outChannels)
    {
        int dim = c.DecoderDim;
        int[] mult = c.DimMult;
        int[] dims = [dim * mult[^1], .. mult.Reverse().Select(u => dim * u)];
        bool[] temperalUpsample = c.TemperalUpsample;
        _convIn = new WanCausalConv3d(w.Sub("conv_in"), c.ZDim, dims[0], 3, padding: 1);
        _midBlock = new WanMidBlock(w.Sub("mid_block"), dims[0]);
        int last = mult.Length - 1;
        _upBlocks = new IWanUpBlock[mult.Length];
        for (int i = 0; i <= last; i++)
        {
            int inDim = dims[i], outDim = dims[i + 1];
            bool upFlag = i != last;
            var sub = w.Sub($"up_blocks.{i}");
            if (c.IsResidual)
            {
                _upBlocks[i] = new WanResidualUpBlock(sub, inDim, outDim, c.NumResBlocks, upFlag && temperalUpsample[i], upFlag);
            }
            else
            {
                if (i > 0) inDim /= 2;   // Wan 2.1: the previous block's upsampler halved the channels
                WanResampleMode? mode = !upFlag ? null : temperalUpsample[i] ? WanResampleMode.Upsample3d : WanResampleMode.Upsample2d;
                _upBlocks[i] = new WanUpBlock(sub, inDim, outDim, c.NumResBlocks, mode);
            }
        }
        _normOut = new WanRmsNorm(w.Sub("norm_out"), dims[^1], images: false);
        _convOut = new WanCausalConv3d(w.Sub("conv_out"), dims[^1], outChannels, 3, padding: 1);
    }

    public Tensor Forward(Tensor x, WanFeatureCache cache)
    {
        x = _convIn.Forward(x, cache);
        x = _midBlock.Forward(x, cache);
        foreach (var block in _upBlocks) x = block.Forward(x, cache);
        x = _normOut.Forward(x).Silu();
        return _convOut.Forward(x, cache);
    }
}
