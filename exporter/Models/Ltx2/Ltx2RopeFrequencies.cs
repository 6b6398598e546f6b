namespace VisualGen.Exporter.Models.Ltx2;

/// <summary>
/// LTX-2's RoPE base frequencies: theta^linspace(0, 1, n) · π/2, computed as diffusers computes them — in float64
/// when rope_double_precision, otherwise in float32 with torch.linspace's float32 steps — and rounded to float32.
/// Positions are scaled into [−1, 1] by the caller (2·p − 1), so the largest angle is about theta·π/2: the float32
/// rounding of these values matters at the 1e-4 level, which is why they are not computed in double and rounded.
/// </summary>
public static class Ltx2RopeFrequencies
{
    public static float[] Compute(int count, double theta, bool doublePrecision)
    {
        var freqs = new float[count];
        if (doublePrecision)
        {
            double step = count > 1 ? 1.0 / (count - 1) : 0;
            for (int i = 0; i < count; i++)
            {
                double x = count == 1 ? 0 : i < count / 2 ? i * step : 1.0 - step * (count - 1 - i);
                freqs[i] = (float)(Math.Pow(theta, x) * Math.PI / 2.0);
            }
            return freqs;
        }
        float stepF = count > 1 ? 1f / (count - 1) : 0f;
        float thetaF = (float)theta, piF = (float)Math.PI;
        for (int i = 0; i < count; i++)
        {
            float x = count == 1 ? 0f : i < count / 2 ? i * stepF : 1f - stepF * (count - 1 - i);
            freqs[i] = MathF.Pow(thetaF, x) * piF / 2f;
        }
        return freqs;
    }
}
