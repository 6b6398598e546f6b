using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Ltx2;

namespace VisualGen.Exporter.Models.Ltx2.Vae;

/// <summary>
/// diffusers' LTX2VideoDecoder3d: conv_in, mid block, up blocks (block channels, scaling flags, residual flags and
/// upsample factors reversed from the config), PerChannelRMSNorm, SiLU, conv_out, then the (p_t, p, p) patches
/// of conv_out's channels unpacked into frames, height and width.
/// </summary>
public sealed class Ltx2VideoDecoder3d
{
    readonly Ltx2VideoCausalConv3d _convIn, _convOut;
    readonly Ltx2VideoUpBlock3d _midBlock;
    readonly Ltx2VideoUpBlock3d[] _upBlocks;
    readonly int _patch, _patchT;

    public Ltx2VideoDecoder3d(Weights w, Ltx2VideoVaeConfig c)
    {
        string pad = c.DecoderSpatialPaddingMode;
        int[] channels = c.DecoderBlockOutChannels.Reverse().ToArray();
        bool[] scaling = c.DecoderSpatioTemporalScaling.Reverse().ToArray();
        int[] layers = c.DecoderLayersPerBlock.Reverse().ToArray();
        bool[] residual = c.UpsampleResidual.Reverse().ToArray();
        int[] factor = c.UpsampleFactor.Reverse().ToArray();
        _patch = c.PatchSize;
        _patchT = c.PatchSizeT;
        int output = channels[0];
        _convIn = new Ltx2VideoCausalConv3d(w.Sub("conv_in"), c.LatentChannels, output, 3, pad);
        _midBlock = new Ltx2VideoUpBlock3d(w.Sub("mid_block"), output, output, layers[0], c.ResnetNormEps, pad);
        _upBlocks = new Ltx2VideoUpBlock3d[channels.Length];
        for (int i = 0; i < channels.Length; i++)
        {
            int input = output / factor[i];
            output = channels[i] / factor[i];
            _upBlocks[i] = new Ltx2VideoUpBlock3d(w.Sub($"up_blocks.{i}"), input, output, layers[i + 1], c.ResnetNormEps, pad,
                scaling[i] ? Ltx2VideoVaeConfig.StrideOf(c.UpsampleType[i]) : null, residual[i], factor[i]);
        }
        _convOut = new Ltx2VideoCausalConv3d(w.Sub("conv_out"), output, c.OutChannels * _patch * _patch * _patchT, 3, pad);
    }

    public Tensor Forward(Tensor z, bool causal)
    {
        var t = z.Tracer;
        var x = _convIn.Forward(z, causal);
        using (t.Scope("mid_block")) x = _midBlock.Forward(x, causal);
        for (int i = 0; i < _upBlocks.Length; i++)
            using (t.Scope($"up_blocks.{i}")) x = _upBlocks[i].Forward(x, causal);
        x = _convOut.Forward(PerChannelRmsNorm.Forward(x).Silu(), causal);
        if (_patch == 1 && _patchT == 1) return x;
        // reshape(b, -1, p_t, p, p, f, h, w).permute(0, 1, 5, 2, 6, 4, 7, 3): the first p goes with the width
        Dim b = x.Size(0), f = x.Size(2), h = x.Size(3), wd = x.Size(4);
        x = x.Reshape(b, -1, _patchT, _patch, _patch, f, h, wd).Transpose(0, 1, 5, 2, 6, 4, 7, 3);
        return x.Reshape(b, -1, f * _patchT, h * _patch, wd * _patch);
    }
}
