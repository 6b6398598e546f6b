namespace VisualGen.Pipelines;

/// <summary>Classifier-free guidance: uncond + scale · (cond − uncond), in float32 as diffusers computes it.</summary>
public static class Guidance
{
    public static float[] Combine(ReadOnlySpan<float> cond, ReadOnlySpan<float> uncond, float scale)
    {
        var r = new float[cond.Length];
        for (int i = 0; i < r.Length; i++) r[i] = uncond[i] + scale * (cond[i] - uncond[i]);
        return r;
    }
}
