using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Models.Ltx2.Transformer;

/// <summary>
/// diffusers' LTX2AudioVideoRotaryPosEmbed (split form) from given patch boundaries: coordinates [B, P, N, 2]
/// ([start, end) per position axis) → midpoints / max positions per axis → (2·p − 1)·freqs per axis, frequencies
/// major and axes minor, front-padded with cos 1 / sin 0 up to dim/2, grouped into <c>heads</c>.
/// </summary>
public sealed class Ltx2AudioVideoRotaryPosEmbed
{
    readonly int _dim, _heads;
    readonly float[] _maxPositions, _freqs;

    /// <param name="maxPositions">one per position axis (video: frames, height, width; audio and cross-modal: frames)</param>
    public Ltx2AudioVideoRotaryPosEmbed(int dim, int heads, float[] maxPositions, double theta, bool doublePrecision)
    {
        _dim = dim;
        _heads = heads;
        _maxPositions = maxPositions;
        _freqs = Ltx2RopeFrequencies.Compute(dim / (2 * maxPositions.Length), theta, doublePrecision);
    }

    /// <param name="coords">[B, P, N, 2] with P = the number of max positions</param>
    public Ltx2Attention.Rope Forward(Tensor coords)
    {
        var t = coords.Tracer;
        int axes = _maxPositions.Length, f = _freqs.Length, pad = _dim / 2 - f * axes;
        Dim b = coords.Size(0), n = coords.Size(2);
        var bounds = coords.Split(3, 1, 1);
        var midpoints = (bounds[0] + bounds[1]) / 2f;                                   // [B, P, N, 1]
        var grid = (midpoints / t.Const(_maxPositions, 1, axes, 1, 1)).Transpose(0, 2, 1, 3); // [B, N, P, 1]
        var angles = (grid * 2f - 1f) * t.Const(_freqs, 1, 1, 1, f);                    // [B, N, P, F]
        angles = angles.Transpose(0, 1, 3, 2).Reshape(b, n, f * axes);
        var cos = angles.Cos();
        var sin = angles.Sin();
        if (pad != 0)
        {
            cos = cos.Pad([0, 0, pad, 0, 0, 0], 1f);
            sin = sin.Pad([0, 0, pad, 0, 0, 0], 0f);
        }
        Tensor Layout(Tensor a) => a.Reshape(b, n, _heads, 1, _dim / 2 / _heads);
        return new Ltx2Attention.Rope(Layout(cos), Layout(sin), _heads);
    }
}
