using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Ltx2.Connectors;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Models;

/// <summary>
/// The text connectors on a random checkpoint of another shape than the fixture's — the video connector with
/// learnable registers (the real LTX-2 form, which the fixture does not have), the audio connector with gated
/// attention and the key-padding mask — against a plain C# forward written from diffusers' LTX2TextConnectors.
/// rope_double_precision is true and theta small, so the reference's RoPE is exact to float32 rounding.
/// </summary>
public class Ltx2ConnectorsRandomCheckpointTests
{
    const int Caption = 8, Factor = 2, Heads = 2, HeadDim = 4, Registers = 4, Length = 8, BaseSeqLen = 16;
    const double Theta = 50;
    const float Eps = 1e-6f;

    static Ltx2RandomWeights Weights()
    {
        var w = new Ltx2RandomWeights(3);
        w.Layer("text_proj_in", [Caption, Caption * Factor], Caption * Factor, bias: false);
        foreach (var c in new[] { "video_connector", "audio_connector" })
        {
            string b = c + ".transformer_blocks.0";
            foreach (var n in new[] { "to_q", "to_k", "to_v", "to_out.0" }) w.Layer($"{b}.attn1.{n}", [Caption, Caption], Caption);
            w.Add($"{b}.attn1.norm_q.weight", [Caption], 0.3f, 1);
            w.Add($"{b}.attn1.norm_k.weight", [Caption], 0.3f, 1);
            w.Layer($"{b}.ff.net.0.proj", [4 * Caption, Caption], Caption);
            w.Layer($"{b}.ff.net.2", [Caption, 4 * Caption], 4 * Caption);
        }
        w.Add("video_connector.learnable_registers", [Registers, Caption], 1f);
        w.Layer("audio_connector.transformer_blocks.0.attn1.to_gate_logits", [Heads, Caption], Caption);
        return w;
    }

    static float[] Linear(float[] x, int rows, float[] w, float[]? b, int inF, int outF)
    {
        var y = new float[rows * outF];
        for (int r = 0; r < rows; r++) for (int o = 0; o < outF; o++)
        {
            double s = b?[o] ?? 0;
            for (int i = 0; i < inF; i++) s += (double)x[r * inF + i] * w[o * inF + i];
            y[r * outF + o] = (float)s;
        }
        return y;
    }

    static float[] RmsNorm(float[] x, int dim, float[]? weight)
    {
        var y = new float[x.Length];
        for (int r = 0; r < x.Length / dim; r++)
        {
            double ms = 0;
            for (int i = 0; i < dim; i++) ms += (double)x[r * dim + i] * x[r * dim + i];
            double inv = 1 / Math.Sqrt(ms / dim + Eps);
            for (int i = 0; i < dim; i++) y[r * dim + i] = (float)(x[r * dim + i] * inv * (weight?[i] ?? 1));
        }
        return y;
    }

    static float[] Rope(float[] x)
    {
        int r = HeadDim / 2;
        var y = (float[])x.Clone();
        for (int p = 0; p < Length; p++)
            for (int h = 0; h < Heads; h++)
                for (int j = 0; j < r; j++)
                {
                    double freq = (float)(Math.Pow(Theta, (double)(h * r + j) / (Caption / 2 - 1)) * Math.PI / 2);
                    float grid = (float)p / BaseSeqLen;
                    float angle = (grid * 2f - 1f) * (float)freq;
                    double c = Math.Cos(angle), s = Math.Sin(angle);
                    int i1 = p * Caption + h * HeadDim + j, i2 = i1 + r;
                    y[i1] = (float)(x[i1] * c - x[i2] * s);
                    y[i2] = (float)(x[i2] * c + x[i1] * s);
                }
        return y;
    }

    static float[] Block(Ltx2RandomWeights wt, string p, float[] x, bool[]? keyValid, bool gated)
    {
        var h = RmsNorm(x, Caption, null);
        var q = Rope(RmsNorm(Linear(h, Length, wt[p + ".attn1.to_q.weight"], wt[p + ".attn1.to_q.bias"], Caption, Caption), Caption, wt[p + ".attn1.norm_q.weight"]));
        var k = Rope(RmsNorm(Linear(h, Length, wt[p + ".attn1.to_k.weight"], wt[p + ".attn1.to_k.bias"], Caption, Caption), Caption, wt[p + ".attn1.norm_k.weight"]));
        var v = Linear(h, Length, wt[p + ".attn1.to_v.weight"], wt[p + ".attn1.to_v.bias"], Caption, Caption);
        var gates = gated ? Linear(h, Length, wt[p + ".attn1.to_gate_logits.weight"], wt[p + ".attn1.to_gate_logits.bias"], Caption, Heads) : null;
        var o = new float[Length * Caption];
        for (int hd = 0; hd < Heads; hd++)
            for (int i = 0; i < Length; i++)
            {
                var s = new double[Length];
                for (int j = 0; j < Length; j++)
                {
                    double d = 0;
                    for (int e = 0; e < HeadDim; e++) d += (double)q[i * Caption + hd * HeadDim + e] * k[j * Caption + hd * HeadDim + e];
                    s[j] = keyValid is null || keyValid[j] ? d / Math.Sqrt(HeadDim) : double.NegativeInfinity;
                }
                double m = s.Max(), z = s.Sum(e => Math.Exp(e - m));
                double g = gates is null ? 1 : 2 / (1 + Math.Exp(-gates[i * Heads + hd]));
                for (int e = 0; e < HeadDim; e++)
                    o[i * Caption + hd * HeadDim + e] = (float)(g * Enumerable.Range(0, Length).Sum(j => Math.Exp(s[j] - m) / z * v[j * Caption + hd * HeadDim + e]));
            }
        var a = Linear(o, Length, wt[p + ".attn1.to_out.0.weight"], wt[p + ".attn1.to_out.0.bias"], Caption, Caption);
        x = x.Zip(a, (u, w) => u + w).ToArray();
        var f = Linear(RmsNorm(x, Caption, null), Length, wt[p + ".ff.net.0.proj.weight"], wt[p + ".ff.net.0.proj.bias"], Caption, 4 * Caption)
            .Select(u => (float)(0.5 * u * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (u + 0.044715 * u * u * u))))).ToArray();
        f = Linear(f, Length, wt[p + ".ff.net.2.weight"], wt[p + ".ff.net.2.bias"], 4 * Caption, Caption);
        return x.Zip(f, (u, w) => u + w).ToArray();
    }

    /// <summary>One batch element: (video, audio).</summary>
    static (float[] Video, float[] Audio) Reference(Ltx2RandomWeights wt, float[] states, long[] mask)
    {
        int n = (int)mask.Sum();
        var valid = Enumerable.Range(0, Length).Select(t => t >= Length - n).ToArray();
        var normed = new float[Length * Caption * Factor];
        for (int f = 0; f < Factor; f++)
        {
            double sum = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
            for (int t = 0; t < Length; t++) for (int c = 0; c < Caption; c++)
                if (valid[t]) { double v = states[(t * Caption + c) * Factor + f]; sum += v; min = Math.Min(min, v); max = Math.Max(max, v); }
            double mean = sum / (n * Caption + 1e-6);
            for (int t = 0; t < Length; t++) for (int c = 0; c < Caption; c++)
            {
                int ix = (t * Caption + c) * Factor + f;
                normed[ix] = valid[t] ? (float)((states[ix] - mean) / (max - min + 1e-6) * 8) : 0;
            }
        }
        var proj = Linear(normed, Length, wt["text_proj_in.weight"], null, Caption * Factor, Caption);
        // video: valid tokens to the front in order, registers (by position) after them, no mask
        var video = new float[Length * Caption];
        var validIdx = Enumerable.Range(0, Length).Where(t => valid[t]).ToArray();
        for (int p = 0; p < Length; p++)
            for (int c = 0; c < Caption; c++)
                video[p * Caption + c] = p < n ? proj[validIdx[p] * Caption + c] : wt["video_connector.learnable_registers"][(p % Registers) * Caption + c];
        video = RmsNorm(Block(wt, "video_connector.transformer_blocks.0", video, null, false), Caption, null);
        var audio = RmsNorm(Block(wt, "audio_connector.transformer_blocks.0", proj, valid, true), Caption, null);
        return (video, audio);
    }

    [Fact]
    public void Random_connectors_with_registers_and_gates_match_a_plain_reference()
    {
        var wt = Weights();
        string dir = wt.Write(Fixtures.TempDir("ltx2-connectors"), new Dictionary<string, object?>
        {
            ["_class_name"] = "LTX2TextConnectors", ["caption_channels"] = Caption, ["text_proj_in_factor"] = Factor,
            ["video_connector_num_attention_heads"] = Heads, ["video_connector_attention_head_dim"] = HeadDim, ["video_connector_num_layers"] = 1,
            ["video_connector_num_learnable_registers"] = Registers, ["video_gated_attn"] = false,
            ["audio_connector_num_attention_heads"] = Heads, ["audio_connector_attention_head_dim"] = HeadDim, ["audio_connector_num_layers"] = 1,
            ["audio_connector_num_learnable_registers"] = null, ["audio_gated_attn"] = true,
            ["connector_rope_base_seq_len"] = BaseSeqLen, ["rope_theta"] = Theta, ["rope_double_precision"] = true, ["rope_type"] = "split",
            ["per_modality_projections"] = false, ["proj_bias"] = false,
        });
        try
        {
            var states = wt.Random(2 * Length * Caption * Factor, 3f);
            long[] mask = [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
            using var weights = ComponentWeights.Open(dir);
            using var engine = OrtTestEngine.Build(Ltx2TextConnectors.Trace(dir, weights), "connectors");
            var outputs = engine.Run(new Dictionary<string, HostTensor>
            {
                [Ltx2TextConnectors.HiddenStatesInput] = HostTensor.Float32(states, 2, Length, Caption * Factor),
                [Ltx2TextConnectors.MaskInput] = HostTensor.Int64(mask, 2, Length),
            });
            int per = Length * Caption * Factor;
            var expectedVideo = new List<float>();
            var expectedAudio = new List<float>();
            for (int b = 0; b < 2; b++)
            {
                var (v, a) = Reference(wt, states[(b * per)..((b + 1) * per)], mask[(b * Length)..((b + 1) * Length)]);
                expectedVideo.AddRange(v);
                expectedAudio.AddRange(a);
            }
            Compare.Component(expectedVideo.ToArray(), outputs[Ltx2TextConnectors.VideoOutput].Floats, "random connectors video");
            Compare.Component(expectedAudio.ToArray(), outputs[Ltx2TextConnectors.AudioOutput].Floats, "random connectors audio");
            // with registers the connector's mask is all zeros, so diffusers' binary mask keeps every position
            Assert.All(outputs[Ltx2TextConnectors.MaskOutput].Longs, m => Assert.Equal(1L, m));
        }
        finally { Directory.Delete(dir, true); }
    }
}
