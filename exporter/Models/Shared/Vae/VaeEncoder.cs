using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Flux;

namespace VisualGen.Exporter.Models.Shared.Vae;

/// <summary>diffusers' vae.py Encoder (double_z): conv_in, DownEncoderBlock2Ds, UNetMidBlock2D, GroupNorm, act,
/// conv_out to 2·latent_channels (mean and log-variance).</summary>
public sealed class VaeEncoder
{
    const float Eps = 1e-6f;
    readonly Conv2d _convIn, _convOut;
    readonly DownEncoderBlock2D[] _downBlocks;
    readonly UNetMidBlock2D _midBlock;
    readonly GroupNorm _convNormOut;
    readonly Func<Tensor, Tensor> _act;

    public VaeEncoder(Weights w, AutoencoderKLConfig c, string? origin)
    {
        _act = Activations.Get(c.ActFn, origin);
        int[] ch = c.BlockOutChannels;
        _convIn = new Conv2d(w.Sub("conv_in"), c.InChannels, ch[0], 3, padding: 1);
        int output = ch[0];
        _downBlocks = new DownEncoderBlock2D[ch.Length];
        for (int i = 0; i < ch.Length; i++)
        {
            int input = output;
            output = ch[i];
            _downBlocks[i] = new DownEncoderBlock2D(w.Sub($"down_blocks.{i}"), input, output, c.LayersPerBlock, c.NormNumGroups, Eps, _act,
                addDownsample: i != ch.Length - 1);
        }
        _midBlock = new UNetMidBlock2D(w.Sub("mid_block"), ch[^1], c.NormNumGroups, Eps, _act, c.MidBlockAddAttention);
        _convNormOut = new GroupNorm(w.Sub("conv_norm_out"), c.NormNumGroups, ch[^1], Eps);
        _convOut = new Conv2d(w.Sub("conv_out"), ch[^1], 2 * c.LatentChannels, 3, padding: 1);
    }

    public Tensor Forward(Tensor sample)
    {
        var t = sample.Tracer;
        var x = _convIn.Forward(sample);
        for (int i = 0; i < _downBlocks.Length; i++)
            using (t.Scope($"down_blocks.{i}")) x = _downBlocks[i].Forward(x);
        using (t.Scope("mid_block")) x = _midBlock.Forward(x);
        return _convOut.Forward(_act(_convNormOut.Forward(x)));
    }
}
