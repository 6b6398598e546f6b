/// <summary>How close an output is to its reference: cosine, max abs difference, relative L2 (NaN when the lengths
/// differ or the output has a NaN). The conformance and component checks of this tool share it.</summary>
static class Similarity
{
    public static (double Cos, double MaxAbs, double RelL2) Compare(float[] a, float[] b)
    {
        if (a.Length != b.Length) return (double.NaN, double.NaN, double.NaN);
        double dot = 0, na = 0, nb = 0, max = 0, d2 = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (float.IsNaN(b[i])) return (double.NaN, double.NaN, double.NaN);
            dot += (double)a[i] * b[i]; na += (double)a[i] * a[i]; nb += (double)b[i] * b[i];
            double d = Math.Abs((double)a[i] - b[i]); max = Math.Max(max, d); d2 += d * d;
        }
        return (dot / Math.Sqrt(na * nb), max, Math.Sqrt(d2 / na));
    }

    /// <summary>Peak signal-to-noise ratio (dB) of <paramref name="b"/> against <paramref name="a"/> for values in [0, 1].</summary>
    public static double Psnr(float[] a, float[] b)
    {
        double d2 = 0;
        for (int i = 0; i < a.Length; i++) { double d = (double)a[i] - b[i]; d2 += d * d; }
        return 10 * Math.Log10(a.Length / d2);
    }
}
