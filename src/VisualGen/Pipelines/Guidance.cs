namespace VisualGen.Pipelines;

/// <summary>Classifier-free guidance: uncond + scale · (cond − uncond), in float32 as diffusers computes it.</summary>
public static class Guidance
{
    public static unsafe float[] Combine(ReadOnlySpan<float> cond, ReadOnlySpan<float> uncond, float scale)
    {
        var r = new float[cond.Length];
        fixed (float* pc = cond, pu = uncond, pr = r)
        {
            nint c = (nint)pc, u = (nint)pu, o = (nint)pr;
            Tensors.ElementRanges.For(r.Length, (start, end) =>
            {
                float* cp = (float*)c, up = (float*)u, op = (float*)o;
                for (int i = start; i < end; i++) op[i] = up[i] + scale * (cp[i] - up[i]);
            });
        }
        return r;
    }
}
