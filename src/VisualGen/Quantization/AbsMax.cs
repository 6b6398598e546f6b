namespace VisualGen.Quantization;

/// <summary>The largest magnitude of a set of values ("amax"), 0 for none.</summary>
public static class AbsMax
{
    public static float Of(ReadOnlySpan<float> values)
    {
        float amax = 0;
        foreach (float v in values) amax = MathF.Max(amax, MathF.Abs(v));
        return amax;
    }
}
