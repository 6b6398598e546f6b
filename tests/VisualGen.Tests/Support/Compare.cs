namespace VisualGen.Tests.Support;

/// <summary>Tolerance checks of the conformance README.</summary>
public static class Compare
{
    public static double MaxAbs(ReadOnlySpan<float> reference, ReadOnlySpan<float> actual)
    {
        Assert.Equal(reference.Length, actual.Length);
        double m = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double d = Math.Abs((double)reference[i] - actual[i]);
            if (double.IsNaN(d)) return double.PositiveInfinity;
            m = Math.Max(m, d);
        }
        return m;
    }

    public static double MaxAbsRef(ReadOnlySpan<float> reference)
    {
        double m = 0;
        foreach (var v in reference) m = Math.Max(m, Math.Abs(v));
        return m;
    }

    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++) { dot += (double)a[i] * b[i]; na += (double)a[i] * a[i]; nb += (double)b[i] * b[i]; }
        return dot / Math.Sqrt(na * nb);
    }

    /// <summary>One component in float32: max abs error ≤ 1e-4 × max(|ref|, 1).</summary>
    public static void Component(ReadOnlySpan<float> reference, ReadOnlySpan<float> actual, string what, double factor = 1e-4)
    {
        double err = MaxAbs(reference, actual), tol = factor * Math.Max(MaxAbsRef(reference), 1);
        Assert.True(err <= tol, $"{what}: max abs error {err:g4} > tolerance {tol:g4}");
    }

    /// <summary>Whole pipeline in float32: max abs ≤ 1e-3 and cosine ≥ 0.9999.</summary>
    public static void Pipeline(ReadOnlySpan<float> reference, ReadOnlySpan<float> actual, string what)
    {
        double err = MaxAbs(reference, actual), cos = Cosine(reference, actual);
        Assert.True(err <= 1e-3 && cos >= 0.9999, $"{what}: max abs {err:g4} (≤ 1e-3), cosine {cos:f6} (≥ 0.9999)");
    }
}
