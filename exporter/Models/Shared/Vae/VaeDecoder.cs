using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Flux;

namespace VisualGen.Exporter.Models.Shared.Vae;

/// <summary>diffusers' vae.py Decoder (norm_type "group"): conv_in, UNetMidBlock2D, UpDecoderBlock2Ds
/// (layers_per_block + 1 resnets each), GroupNorm, act, conv_out.</summary>
public sealed class VaeDecoder
{
    const float Eps = 1e-6f;
    readonly Conv2d _convIn, _convOut;
    readonly UNetMidBlock2D _midBlock;
    readonly UpDecoderBlock2D[] _upBlocks;
    readonly GroupNorm _convNormOut;
    readonly Func<Tensor, Tensor> _act;

    public VaeDecoder(Weights w, AutoencoderKLConfig c, string? origin)
    {
        _act = Activations.Get(c.ActFn, origin);
        int[] reversed = c.BlockOutChannels.Reverse().ToArray();
        _convIn = new Conv2d(w.Sub("conv_in"), c.LatentChannels, reversed[0], 3, padding: 1);
        _midBlock = new UNetMidBlock2D(w.Sub("mid_block"), reversed[0], c.NormNumGroups, Eps, _act, c.MidBlockAddAttention);
        int output = reversed[0];
        _upBlocks = new UpDecoderBlock2D[reversed.Length];
        for (int i = 0; i < reversed.Length; i++)
        {
            int previous = output;
            output = reversed[i];
            _upBlocks[i] = new UpDecoderBlock2D(w.Sub($"up_blocks.{i}"), previous, output, c.LayersPerBlock + 1, c.NormNumGroups, Eps, _act,
                addUpsample: i != reversed.Length - 1);
        }
        _convNormOut = new GroupNorm(w.Sub("conv_norm_out"), c.NormNumGroups, c.BlockOutChannels[0], Eps);
        _convOut = new Conv2d(w.Sub("conv_out"), c.BlockOutChannels[0], c.OutChannels, 3, padding: 1);
    }

    public Tensor Forward(Tensor z)
    {
        var t = z.Tracer;
        var x = _convIn.Forward(z);
        using (t.Scope("mid_block")) x = _midBlock.Forward(x);
        for (int i = 0; i < _upBlocks.Length; i++)
            using (t.Scope($"up_blocks.{i}")) x = _upBlocks[i].Forward(x);
        return _convOut.Forward(_act(_convNormOut.Forward(x)));
    }
}
