using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Models.Wan;

/// <summary>
/// Wan's 3D RoPE: the head dim splits into t/h/w parts (h = w = 2·(d/6), t = the rest), each with 1-D rotary
/// frequencies over positions up to rope_max_seq_len. The tables are computed in float64 as diffusers does and
/// stored as constants; the graph slices them to the latent grid and broadcasts them to every token.
/// Returns cos and sin of shape [tokens, head_dim/2] (one angle per complex pair).
/// </summary>
public sealed class WanRotaryPosEmbed(int attentionHeadDim, int maxSeqLen, double theta = 10000.0)
{
    public int TDim => attentionHeadDim - 2 * HDim;
    public int HDim => 2 * (attentionHeadDim / 6);

    public (Tensor Cos, Tensor Sin) Forward(Tracer t, Dim ppf, Dim pph, Dim ppw)
    {
        var (cosT, sinT) = Table(t, TDim);
        var (cosH, sinH) = Table(t, HDim);
        var (cosW, sinW) = Table(t, HDim);
        int pt = TDim / 2, ph = HDim / 2;
        Tensor Grid(Tensor ft, Tensor fh, Tensor fw)
        {
            var a = ft.Slice(0, 0L, ppf).Reshape(ppf, 1, 1, pt).Expand(ppf, pph, ppw, pt);
            var b = fh.Slice(0, 0L, pph).Reshape(1, pph, 1, ph).Expand(ppf, pph, ppw, ph);
            var c = fw.Slice(0, 0L, ppw).Reshape(1, 1, ppw, ph).Expand(ppf, pph, ppw, ph);
            return Tensor.Concat(-1, a, b, c).Reshape(-1, attentionHeadDim / 2);
        }
        return (Grid(cosT, cosH, cosW), Grid(sinT, sinH, sinW));
    }

    (Tensor Cos, Tensor Sin) Table(Tracer t, int dim)
    {
        int pairs = dim / 2;
        var cos = new float[maxSeqLen * pairs];
        var sin = new float[maxSeqLen * pairs];
        for (int p = 0; p < maxSeqLen; p++)
            for (int j = 0; j < pairs; j++)
            {
                double freq = 1.0 / Math.Pow(theta, 2.0 * j / dim);
                double angle = p * freq;
                cos[p * pairs + j] = (float)Math.Cos(angle);
                sin[p * pairs + j] = (float)Math.Sin(angle);
            }
        return (t.Const(cos, maxSeqLen, pairs), t.Const(sin, maxSeqLen, pairs));
    }
}
