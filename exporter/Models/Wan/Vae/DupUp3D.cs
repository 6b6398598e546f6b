using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>
/// diffusers' DupUp3D (the Wan 2.2 decoder's residual shortcut): repeat each channel, unfold channels into
/// factor_t frames and factor_s × factor_s pixels; in the first chunk the leading factor_t − 1 frames are dropped
/// (matching upsample3d, which does not upsample the first chunk in time).
/// </summary>
public sealed class DupUp3D
{
    readonly int _outChannels, _factorT, _factorS, _repeats;

    public DupUp3D(int inChannels, int outChannels, int factorT, int factorS)
    {
        int factor = factorT * factorS * factorS;
        if (outChannels * factor % inChannels != 0)
            throw new ArgumentException($"DupUp3D: out_channels {outChannels} × factor {factor} is not a multiple of in_channels {inChannels}");
        (_outChannels, _factorT, _factorS) = (outChannels, factorT, factorS);
        _repeats = outChannels * factor / inChannels;
    }

    public Tensor Forward(Tensor x, WanChunk chunk)
    {
        Dim b = x.Size(0), c = x.Size(1), t = x.Size(2), h = x.Size(3), w = x.Size(4);
        // repeat_interleave over channels: [B, C, 1, ...] expanded to [B, C, r, ...]
        x = x.Unsqueeze(2).Expand(1, 1, _repeats, 1, 1, 1).Reshape(b, c * _repeats, t, h, w);
        x = x.Reshape(b, _outChannels, _factorT, _factorS, _factorS, t, h, w).Transpose(0, 1, 5, 2, 6, 3, 7, 4);
        x = x.Reshape(b, _outChannels, t * _factorT, h * _factorS, w * _factorS);
        if (chunk != WanChunk.Next && _factorT > 1) x = x.Slice(2, _factorT - 1, long.MaxValue);
        return x;
    }
}
