using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>
/// diffusers' AvgDown3D (the Wan 2.2 encoder's residual shortcut): zero-pad the past side of time to a multiple of
/// factor_t, fold factor_t × factor_s × factor_s neighbours into channels, and average groups of channels down to
/// out_channels. Frame counts are whole chunks, so the padding is known when tracing: factor_t − 1 frames for the
/// first chunk (and a full sequence of 1 + 4k frames, whose frame counts stay odd), none for later chunks
/// (multiples of 4 frames).
/// </summary>
public sealed class AvgDown3D
{
    readonly int _inChannels, _outChannels, _factorT, _factorS, _groupSize;

    public AvgDown3D(int inChannels, int outChannels, int factorT, int factorS)
    {
        int factor = factorT * factorS * factorS;
        if (inChannels * factor % outChannels != 0)
            throw new ArgumentException($"AvgDown3D: in_channels {inChannels} × factor {factor} is not a multiple of out_channels {outChannels}");
        (_inChannels, _outChannels, _factorT, _factorS) = (inChannels, outChannels, factorT, factorS);
        _groupSize = inChannels * factor / outChannels;
    }

    public Tensor Forward(Tensor x, WanChunk chunk)
    {
        int padT = chunk == WanChunk.Next ? 0 : _factorT - 1;
        if (padT > 0) x = x.Pad([0, 0, padT, 0, 0, 0, 0, 0, 0, 0]);
        Dim b = x.Size(0), t = x.Size(2) / _factorT, h = x.Size(3) / _factorS, w = x.Size(4) / _factorS;
        x = x.Reshape(b, _inChannels, t, _factorT, h, _factorS, w, _factorS).Transpose(0, 1, 3, 5, 7, 2, 4, 6);
        x = x.Reshape(b, _outChannels, _groupSize, t, h, w);
        return x.ReduceMean([2], keepDims: false);
    }
}
