using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Ltx2.Vocoder;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Models;

/// <summary>The vocoder graph on a random checkpoint of another shape (two upsample layers of different factor and
/// kernel, two resblock kernels with their own dilations, clamp, no final bias) against a plain C# forward written
/// from diffusers' LTX2Vocoder.</summary>
public class Ltx2VocoderRandomCheckpointTests
{
    const int MelChannels = 2, MelBins = 4, Hidden = 16, Out = 2;
    static readonly int[] Factors = [2, 3], Kernels = [4, 5], ResKernels = [3, 5];
    static readonly int[][] Dilations = [[1, 2], [1, 3]];
    const float Slope = 0.2f;

    static Ltx2RandomWeights Weights()
    {
        var w = new Ltx2RandomWeights(7);
        int inCh = MelChannels * MelBins;
        w.Layer("conv_in", [Hidden, inCh, 7], inCh * 7);
        int ch = Hidden;
        for (int i = 0; i < Factors.Length; i++)
        {
            w.Layer($"upsamplers.{i}", [ch, ch / 2, Kernels[i]], ch * Kernels[i], biasLength: ch / 2);
            ch /= 2;
            for (int j = 0; j < ResKernels.Length; j++)
                for (int d = 0; d < Dilations[j].Length; d++)
                {
                    w.Layer($"resnets.{i * ResKernels.Length + j}.convs1.{d}", [ch, ch, ResKernels[j]], ch * ResKernels[j]);
                    w.Layer($"resnets.{i * ResKernels.Length + j}.convs2.{d}", [ch, ch, ResKernels[j]], ch * ResKernels[j]);
                }
        }
        w.Layer("conv_out", [Out, ch, 7], ch * 7, bias: false);
        return w;
    }

    static float[] Conv1d(float[] x, int cin, int t, float[] w, float[]? b, int cout, int k, int dil)
    {
        int total = dil * (k - 1), left = total / 2;
        var y = new float[cout * t];
        for (int o = 0; o < cout; o++)
            for (int p = 0; p < t; p++)
            {
                double s = b?[o] ?? 0;
                for (int i = 0; i < cin; i++)
                    for (int j = 0; j < k; j++)
                    {
                        int q = p - left + j * dil;
                        if (q >= 0 && q < t) s += (double)x[i * t + q] * w[(o * cin + i) * k + j];
                    }
                y[o * t + p] = (float)s;
            }
        return y;
    }

    static float[] ConvTranspose1d(float[] x, int cin, int t, float[] w, float[] b, int cout, int k, int stride, out int tOut)
    {
        int pad = (k - stride) / 2;
        tOut = (t - 1) * stride - 2 * pad + k;
        var y = new double[cout * tOut];
        for (int o = 0; o < cout; o++) for (int p = 0; p < tOut; p++) y[o * tOut + p] = b[o];
        for (int i = 0; i < cin; i++)
            for (int p = 0; p < t; p++)
                for (int o = 0; o < cout; o++)
                    for (int j = 0; j < k; j++)
                    {
                        int q = p * stride + j - pad;
                        if (q >= 0 && q < tOut) y[o * tOut + q] += (double)x[i * t + p] * w[(i * cout + o) * k + j];
                    }
        return y.Select(v => (float)v).ToArray();
    }

    static float[] Leaky(float[] x, float s) => x.Select(v => v >= 0 ? v : v * s).ToArray();

    static float[] Reference(Ltx2RandomWeights w, float[] mel, int frames)
    {
        int inCh = MelChannels * MelBins, t = frames;
        var x = new float[inCh * t];
        for (int c = 0; c < MelChannels; c++) for (int f = 0; f < t; f++) for (int m = 0; m < MelBins; m++)
            x[(c * MelBins + m) * t + f] = mel[(c * t + f) * MelBins + m];
        x = Conv1d(x, inCh, t, w["conv_in.weight"], w["conv_in.bias"], Hidden, 7, 1);
        int ch = Hidden;
        for (int i = 0; i < Factors.Length; i++)
        {
            x = ConvTranspose1d(Leaky(x, Slope), ch, t, w[$"upsamplers.{i}.weight"], w[$"upsamplers.{i}.bias"], ch / 2, Kernels[i], Factors[i], out t);
            ch /= 2;
            var sum = new float[x.Length];
            for (int j = 0; j < ResKernels.Length; j++)
            {
                var h = x;
                string p = $"resnets.{i * ResKernels.Length + j}";
                for (int d = 0; d < Dilations[j].Length; d++)
                {
                    var xt = Conv1d(Leaky(h, Slope), ch, t, w[$"{p}.convs1.{d}.weight"], w[$"{p}.convs1.{d}.bias"], ch, ResKernels[j], Dilations[j][d]);
                    xt = Conv1d(Leaky(xt, Slope), ch, t, w[$"{p}.convs2.{d}.weight"], w[$"{p}.convs2.{d}.bias"], ch, ResKernels[j], 1);
                    h = h.Zip(xt, (a, b2) => a + b2).ToArray();
                }
                for (int e = 0; e < sum.Length; e++) sum[e] += h[e];
            }
            x = sum.Select(v => v / ResKernels.Length).ToArray();
        }
        x = Conv1d(Leaky(x, 0.01f), ch, t, w["conv_out.weight"], null, Out, 7, 1);
        return x.Select(v => Math.Clamp(v, -1f, 1f)).ToArray();
    }

    [Fact]
    public void Random_vocoder_matches_a_plain_reference()
    {
        var w = Weights();
        string dir = w.Write(Fixtures.TempDir("ltx2-vocoder"), new Dictionary<string, object?>
        {
            ["_class_name"] = "LTX2Vocoder", ["in_channels"] = MelChannels * MelBins, ["hidden_channels"] = Hidden, ["out_channels"] = Out,
            ["upsample_kernel_sizes"] = Kernels, ["upsample_factors"] = Factors, ["resnet_kernel_sizes"] = ResKernels,
            ["resnet_dilations"] = Dilations, ["act_fn"] = "leaky_relu", ["leaky_relu_negative_slope"] = Slope, ["antialias"] = false,
            ["final_act_fn"] = "clamp", ["final_bias"] = false, ["output_sampling_rate"] = 24000,
        });
        try
        {
            const int frames = 5;
            var mel = w.Random(MelChannels * frames * MelBins, 2f);
            using var weights = ComponentWeights.Open(dir);
            using var engine = OrtTestEngine.Build(Ltx2Vocoder.Trace(dir, weights), "vocoder");
            var waveform = engine.Run(new Dictionary<string, HostTensor> { [Ltx2Vocoder.MelInput] = HostTensor.Float32(mel, 1, MelChannels, frames, MelBins) })[Ltx2Vocoder.WaveformOutput];
            Assert.Equal(new long[] { 1, Out, frames * 6 }, waveform.Shape);
            var expected = Reference(w, mel, frames);
            Assert.Contains(expected, v => Math.Abs(v) is > 0.05f and < 0.99f); // not saturated by the clamp everywhere
            Compare.Component(expected, waveform.Floats, "random vocoder");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Unsupported_vocoder_options_are_named()
    {
        var w = Weights();
        string dir = w.Write(Fixtures.TempDir("ltx2-vocoder"), new Dictionary<string, object?> { ["act_fn"] = "snakebeta" });
        try
        {
            var e = Assert.Throws<CheckpointException>(() => Ltx2VocoderConfigRead(dir));
            Assert.Contains("act_fn", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    static object Ltx2VocoderConfigRead(string dir) => VisualGen.Pipelines.Ltx2.Ltx2VocoderConfig.Read(dir);
}
