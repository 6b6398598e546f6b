namespace VisualGen.Tests.Models;

/// <summary>
/// The float64 building blocks the FLUX.1 and FLUX.2 references share, written with plain loops over row-major arrays
/// (tokens × heads × head_dim for attention): linear layers, LayerNorm, per-head RMSNorm, the 256-channel sinusoidal
/// timestep embedding, multi-axis RoPE on interleaved pairs, softmax attention, and the modulated norms and gated
/// residuals of their blocks.
/// </summary>
static class FluxFloat64Ops
{
    public static double Silu(double v) => v / (1 + Math.Exp(-v));
    public static double GeluTanh(double v) => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
    public static double[] Map(double[] x, Func<double, double> f) => Array.ConvertAll(x, v => f(v));

    /// <summary>x [rows, in] → [rows, out] with weight [out, in] and an optional bias.</summary>
    public static double[] Linear(double[] x, int rows, double[] w, double[]? b, int outF)
    {
        int inF = w.Length / outF;
        var y = new double[rows * outF];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outF; o++)
            {
                double s = b?[o] ?? 0;
                for (int i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
                y[r * outF + o] = s;
            }
        return y;
    }

    public static double[] LayerNorm(double[] x, int rows, int dim, double eps = 1e-6)
    {
        var y = new double[x.Length];
        for (int r = 0; r < rows; r++)
        {
            double mean = 0, var = 0;
            for (int i = 0; i < dim; i++) mean += x[r * dim + i];
            mean /= dim;
            for (int i = 0; i < dim; i++) var += (x[r * dim + i] - mean) * (x[r * dim + i] - mean);
            var /= dim;
            for (int i = 0; i < dim; i++) y[r * dim + i] = (x[r * dim + i] - mean) / Math.Sqrt(var + eps);
        }
        return y;
    }

    /// <summary>RMSNorm over each head (<paramref name="headDim"/> values) with weight <paramref name="w"/>, eps 1e-6.</summary>
    public static double[] HeadRms(double[] x, double[] w, int headDim)
    {
        var y = new double[x.Length];
        for (int g = 0; g < x.Length / headDim; g++)
        {
            double ms = 0;
            for (int i = 0; i < headDim; i++) ms += x[g * headDim + i] * x[g * headDim + i];
            double inv = 1 / Math.Sqrt(ms / headDim + 1e-6);
            for (int i = 0; i < headDim; i++) y[g * headDim + i] = x[g * headDim + i] * inv * w[i];
        }
        return y;
    }

    /// <summary>The 256-channel sinusoidal embedding of <paramref name="t"/>, cosines first.</summary>
    public static double[] Sinusoid(double t)
    {
        var e = new double[256];
        for (int i = 0; i < 128; i++)
        {
            double a = t * Math.Exp(-Math.Log(10000) * i / 128.0);
            e[i] = Math.Cos(a);
            e[128 + i] = Math.Sin(a);
        }
        return e;
    }

    /// <summary>Rotary angles per token over the axes of <paramref name="ids"/> ([tokens, axes]): [tokens, head_dim/2].</summary>
    public static double[] Angles(double[] ids, int tokens, int[] axesDims, double theta)
    {
        int half = axesDims.Sum() / 2, axes = axesDims.Length;
        var ang = new double[tokens * half];
        for (int s = 0; s < tokens; s++)
        {
            int col = 0;
            for (int axis = 0; axis < axes; axis++)
                for (int j = 0; j < axesDims[axis] / 2; j++, col++)
                    ang[s * half + col] = ids[s * axes + axis] / Math.Pow(theta, 2.0 * j / axesDims[axis]);
        }
        return ang;
    }

    /// <summary>RoPE on interleaved pairs of each head of x [tokens, heads, head_dim].</summary>
    public static double[] Rope(double[] x, double[] ang, int tokens, int heads, int headDim)
    {
        var y = new double[x.Length];
        for (int s = 0; s < tokens; s++)
            for (int h = 0; h < heads; h++)
                for (int j = 0; j < headDim / 2; j++)
                {
                    int i = (s * heads + h) * headDim + 2 * j;
                    double c = Math.Cos(ang[s * headDim / 2 + j]), sn = Math.Sin(ang[s * headDim / 2 + j]);
                    y[i] = x[i] * c - x[i + 1] * sn;
                    y[i + 1] = x[i + 1] * c + x[i] * sn;
                }
        return y;
    }

    /// <summary>Softmax attention of every token to every token, per head, scale 1/√head_dim.</summary>
    public static double[] Attention(double[] q, double[] k, double[] v, int tokens, int heads, int headDim)
    {
        var o = new double[q.Length];
        double scale = 1 / Math.Sqrt(headDim);
        var p = new double[tokens];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < tokens; i++)
            {
                double max = double.NegativeInfinity;
                for (int j = 0; j < tokens; j++)
                {
                    double s = 0;
                    for (int d = 0; d < headDim; d++) s += q[(i * heads + h) * headDim + d] * k[(j * heads + h) * headDim + d];
                    p[j] = s * scale;
                    max = Math.Max(max, p[j]);
                }
                double sum = 0;
                for (int j = 0; j < tokens; j++) { p[j] = Math.Exp(p[j] - max); sum += p[j]; }
                for (int j = 0; j < tokens; j++)
                    for (int d = 0; d < headDim; d++) o[(i * heads + h) * headDim + d] += p[j] / sum * v[(j * heads + h) * headDim + d];
            }
        return o;
    }

    public static double[] Rows(double[] x, int dim, int from, int count) => x.AsSpan(from * dim, count * dim).ToArray();
    public static double[] Cat(double[] a, double[] b) => [.. a, .. b];

    /// <summary>LN(x)·(1 + scale) + shift with chunks <paramref name="shiftIndex"/>, <paramref name="scaleIndex"/> of <paramref name="mod"/>.</summary>
    public static double[] Modulate(double[] x, int rows, int dim, double[] mod, int shiftIndex, int scaleIndex)
    {
        var n = LayerNorm(x, rows, dim);
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < dim; i++) n[r * dim + i] = n[r * dim + i] * (1 + mod[scaleIndex * dim + i]) + mod[shiftIndex * dim + i];
        return n;
    }

    /// <summary>x += gate chunk <paramref name="gateIndex"/> of <paramref name="mod"/> · y, in place.</summary>
    public static void AddGated(double[] x, int rows, int dim, double[] mod, int gateIndex, double[] y)
    {
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < dim; i++) x[r * dim + i] += mod[gateIndex * dim + i] * y[r * dim + i];
    }
}
