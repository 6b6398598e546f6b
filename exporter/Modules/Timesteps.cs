using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>diffusers' Timesteps: sinusoidal embedding of a 1-D timestep tensor ([N] → [N, channels]).</summary>
public sealed class Timesteps(int numChannels, bool flipSinToCos, float downscaleFreqShift, float scale = 1, int maxPeriod = 10000)
{
    public Tensor Forward(Tensor timesteps)
    {
        int half = numChannels / 2;
        // as get_timestep_embedding computes them: exp(-ln(max_period) * i / (half - shift)) in float32
        var freqs = new float[half];
        for (int i = 0; i < half; i++)
            freqs[i] = MathF.Exp(-MathF.Log(maxPeriod) * i / (half - downscaleFreqShift));
        var t = timesteps.Tracer;
        var emb = timesteps.Cast(Checkpoints.TensorDType.F32).Unsqueeze(1) * t.Const(freqs, 1, half);
        if (scale != 1) emb = emb * scale;
        var sin = emb.Sin();
        var cos = emb.Cos();
        var outT = flipSinToCos ? Tensor.Concat(-1, cos, sin) : Tensor.Concat(-1, sin, cos);
        if (numChannels % 2 == 1) outT = outT.Pad([0, 0, 0, 1]);
        return outT;
    }
}
