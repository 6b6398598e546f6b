using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Ltx2;

namespace VisualGen.Exporter.Models.Ltx2.AudioVae;

/// <summary>
/// diffusers' LTX2AudioDecoder: conv_in, mid (resnet, optional attention, resnet), up stages from the deepest
/// level (num_res_blocks + 1 resnets each, attention at attn_resolutions, an upsampler except at level 0), norm,
/// SiLU, conv_out; then the spectrogram is cut or zero-padded to max(4·frames − 3, 1) frames and mel_bins bins.
/// </summary>
public sealed class Ltx2AudioDecoder
{
    sealed record Stage(Ltx2AudioResnetBlock[] Blocks, Ltx2AudioAttnBlock?[] Attn, Ltx2AudioUpsample? Upsample);

    readonly Ltx2AudioCausalConv2d _convIn, _convOut;
    readonly Ltx2AudioResnetBlock _midBlock1, _midBlock2;
    readonly Ltx2AudioAttnBlock? _midAttn;
    readonly Stage[] _up;
    readonly Ltx2AudioNorm _normOut;
    readonly int? _melBins;

    public Ltx2AudioDecoder(Weights w, Ltx2AudioVaeConfig c)
    {
        string norm = c.NormType, axis = c.CausalityAxis;
        int levels = c.ChMult.Length;
        int blockIn = c.BaseChannels * c.ChMult[^1];
        _melBins = c.MelBins;
        _convIn = new Ltx2AudioCausalConv2d(w.Sub("conv_in"), c.LatentChannels, blockIn, 3, axis);
        _midBlock1 = new Ltx2AudioResnetBlock(w.Sub("mid.block_1"), blockIn, blockIn, norm, axis);
        if (c.MidBlockAddAttention) _midAttn = new Ltx2AudioAttnBlock(w.Sub("mid.attn_1"), blockIn, norm);
        _midBlock2 = new Ltx2AudioResnetBlock(w.Sub("mid.block_2"), blockIn, blockIn, norm, axis);
        _up = new Stage[levels];
        int resolution = c.Resolution >> (levels - 1);
        for (int level = levels - 1; level >= 0; level--)
        {
            var sw = w.Sub($"up.{level}");
            int blockOut = c.BaseChannels * c.ChMult[level];
            var blocks = new Ltx2AudioResnetBlock[c.NumResBlocks + 1];
            var attn = new Ltx2AudioAttnBlock?[c.NumResBlocks + 1];
            int attnCount = 0;
            for (int i = 0; i < blocks.Length; i++)
            {
                blocks[i] = new Ltx2AudioResnetBlock(sw.Sub($"block.{i}"), blockIn, blockOut, norm, axis);
                blockIn = blockOut;
                if (c.AttnResolutions is { Length: > 0 } r && r.Contains(resolution))
                    attn[i] = new Ltx2AudioAttnBlock(sw.Sub($"attn.{attnCount++}"), blockIn, norm);
            }
            Ltx2AudioUpsample? upsample = null;
            if (level != 0)
            {
                upsample = new Ltx2AudioUpsample(sw.Sub("upsample"), blockIn, axis);
                resolution *= 2;
            }
            _up[level] = new Stage(blocks, attn, upsample);
        }
        _normOut = new Ltx2AudioNorm(w.Sub("norm_out"), blockIn, norm);
        _convOut = new Ltx2AudioCausalConv2d(w.Sub("conv_out"), blockIn, c.OutputChannels, 3, axis);
    }

    public Tensor Forward(Tensor sample)
    {
        var t = sample.Tracer;
        var x = _convIn.Forward(sample);
        x = _midBlock1.Forward(x);
        if (_midAttn is not null) x = _midAttn.Forward(x);
        x = _midBlock2.Forward(x);
        for (int level = _up.Length - 1; level >= 0; level--)
        {
            var stage = _up[level];
            for (int i = 0; i < stage.Blocks.Length; i++)
            {
                x = stage.Blocks[i].Forward(x);
                if (stage.Attn[i] is { } a) x = a.Forward(x);
            }
            if (stage.Upsample is not null) x = stage.Upsample.Forward(x);
        }
        x = _convOut.Forward(_normOut.Forward(x).Silu());

        // target frames max(4·frames − 3, 1), target bins mel_bins (or the latent's bins): cut, then zero-pad
        var frames = sample.Size(2).AsTensor(sample);
        var targetTime = (frames * t.Int64Vector(Ltx2AudioVaeConfig.LatentDownsampleFactor) - t.Int64Vector(Ltx2AudioVaeConfig.LatentDownsampleFactor - 1))
            .Max(t.Int64Vector(1));
        var targetFreq = _melBins is int m ? t.Int64Vector(m) : sample.Size(3).AsTensor(sample);
        x = x.Slice(2, 0, Dim.Of(targetTime)).Slice(3, 0, Dim.Of(targetFreq));
        var zero = t.Int64Vector(0);
        var padTime = (targetTime - x.Size(2).AsTensor(x)).Max(zero);
        var padFreq = (targetFreq - x.Size(3).AsTensor(x)).Max(zero);
        var pads = Tensor.Concat(0, t.Int64Vector(0, 0, 0, 0, 0, 0), padTime, padFreq);
        return t.Op("Pad", [x, pads, t.Scalar(0f)], new() { ["mode"] = "constant" });
    }
}
