using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Shared.Gemma3;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Models;

/// <summary>
/// The Gemma 3 text model on a random checkpoint of another shape than the fixture's — a sliding layer whose window
/// (3) is shorter than the text and a full-attention layer with its own RoPE theta, grouped-query attention with one
/// K/V head, query_pre_attn_scalar ≠ head_dim, transformers 5's "model.language_model." keys, left padding — against
/// a plain C# forward written from transformers' Gemma3TextModel. Left-padding rows see no token; their attention
/// output is zero (transformers' boolean SDPA mask and ONNX Runtime's Attention with the float-minimum mask agree on
/// this: the ltx2 golden matches there exactly).
/// </summary>
public class Gemma3TextRandomCheckpointTests
{
    const int Hidden = 8, Heads = 2, HeadDim = 4, Inter = 12, Vocab = 20, Window = 3, Length = 6;
    const double QueryScalar = 6, ThetaSliding = 100, ThetaFull = 10000;
    static readonly bool[] Sliding = [true, false];
    const string Prefix = "model.language_model.";

    static Ltx2RandomWeights Weights()
    {
        var w = new Ltx2RandomWeights(9);
        w.Add(Prefix + "embed_tokens.weight", [Vocab, Hidden], 1f);
        for (int l = 0; l < Sliding.Length; l++)
        {
            string p = $"{Prefix}layers.{l}.";
            foreach (var n in new[] { "input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm" })
                w.Add(p + n + ".weight", [Hidden], 0.3f);
            w.Add(p + "self_attn.q_norm.weight", [HeadDim], 0.3f);
            w.Add(p + "self_attn.k_norm.weight", [HeadDim], 0.3f);
            w.Layer(p + "self_attn.q_proj", [Heads * HeadDim, Hidden], Hidden, bias: false);
            w.Layer(p + "self_attn.k_proj", [HeadDim, Hidden], Hidden, bias: false);
            w.Layer(p + "self_attn.v_proj", [HeadDim, Hidden], Hidden, bias: false);
            w.Layer(p + "self_attn.o_proj", [Hidden, Heads * HeadDim], Heads * HeadDim, bias: false);
            w.Layer(p + "mlp.gate_proj", [Inter, Hidden], Hidden, bias: false);
            w.Layer(p + "mlp.up_proj", [Inter, Hidden], Hidden, bias: false);
            w.Layer(p + "mlp.down_proj", [Hidden, Inter], Inter, bias: false);
        }
        w.Add(Prefix + "norm.weight", [Hidden], 0.3f);
        return w;
    }

    static double[] Norm(double[] x, float[] w, int dim)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / dim; r++)
        {
            double ms = 0;
            for (int i = 0; i < dim; i++) ms += x[r * dim + i] * x[r * dim + i];
            double inv = 1 / Math.Sqrt(ms / dim + 1e-6);
            for (int i = 0; i < dim; i++) y[r * dim + i] = x[r * dim + i] * inv * (1 + w[i]);
        }
        return y;
    }

    static double[] Lin(double[] x, float[] w, int inF, int outF)
    {
        int rows = x.Length / inF;
        var y = new double[rows * outF];
        for (int r = 0; r < rows; r++) for (int o = 0; o < outF; o++) { double s = 0; for (int i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i]; y[r * outF + o] = s; }
        return y;
    }

    static double[] Rope(double[] x, int heads, double theta)
    {
        var y = (double[])x.Clone();
        for (int p = 0; p < Length; p++) for (int h = 0; h < heads; h++) for (int j = 0; j < HeadDim / 2; j++)
        {
            double a = p / Math.Pow(theta, 2.0 * j / HeadDim);
            int i1 = (p * heads + h) * HeadDim + j, i2 = i1 + HeadDim / 2;
            y[i1] = x[i1] * Math.Cos(a) - x[i2] * Math.Sin(a);
            y[i2] = x[i2] * Math.Cos(a) + x[i1] * Math.Sin(a);
        }
        return y;
    }

    static float[] Reference(Ltx2RandomWeights w, long[] ids, long[] mask)
    {
        var x = new double[Length * Hidden];
        for (int p = 0; p < Length; p++) for (int i = 0; i < Hidden; i++) x[p * Hidden + i] = w[Prefix + "embed_tokens.weight"][ids[p] * Hidden + i] * (double)(float)Math.Sqrt(Hidden);
        var states = new List<double[]> { x };
        for (int l = 0; l < Sliding.Length; l++)
        {
            string p = $"{Prefix}layers.{l}.";
            double theta = Sliding[l] ? ThetaSliding : ThetaFull;
            var h = Norm(x, w[p + "input_layernorm.weight"], Hidden);
            var q = Rope(Norm(Lin(h, w[p + "self_attn.q_proj.weight"], Hidden, Heads * HeadDim), w[p + "self_attn.q_norm.weight"], HeadDim), Heads, theta);
            var k = Rope(Norm(Lin(h, w[p + "self_attn.k_proj.weight"], Hidden, HeadDim), w[p + "self_attn.k_norm.weight"], HeadDim), 1, theta);
            var v = Lin(h, w[p + "self_attn.v_proj.weight"], Hidden, HeadDim);
            var o = new double[Length * Heads * HeadDim];
            for (int hd = 0; hd < Heads; hd++) for (int i = 0; i < Length; i++)
            {
                var allowed = Enumerable.Range(0, Length).Where(j => j <= i && mask[j] == 1 && (!Sliding[l] || i - j < Window)).ToArray();
                if (allowed.Length == 0) continue; // a padding row that sees no token: zero, as the fixture's golden shows
                var s = allowed.Select(j => Enumerable.Range(0, HeadDim).Sum(e => q[(i * Heads + hd) * HeadDim + e] * k[j * HeadDim + e]) / Math.Sqrt(QueryScalar)).ToArray();
                double m = s.Max(), z = s.Sum(e => Math.Exp(e - m));
                for (int e = 0; e < HeadDim; e++) o[(i * Heads + hd) * HeadDim + e] = allowed.Select((j, a) => Math.Exp(s[a] - m) / z * v[j * HeadDim + e]).Sum();
            }
            var attn = Norm(Lin(o, w[p + "self_attn.o_proj.weight"], Heads * HeadDim, Hidden), w[p + "post_attention_layernorm.weight"], Hidden);
            x = x.Zip(attn, (a, b) => a + b).ToArray();
            h = Norm(x, w[p + "pre_feedforward_layernorm.weight"], Hidden);
            var gate = Lin(h, w[p + "mlp.gate_proj.weight"], Hidden, Inter).Select(u => 0.5 * u * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (u + 0.044715 * u * u * u)))).ToArray();
            var up = Lin(h, w[p + "mlp.up_proj.weight"], Hidden, Inter);
            var ff = Norm(Lin(gate.Zip(up, (a, b) => a * b).ToArray(), w[p + "mlp.down_proj.weight"], Inter, Hidden), w[p + "post_feedforward_layernorm.weight"], Hidden);
            x = x.Zip(ff, (a, b) => a + b).ToArray();
            states.Add(x);
        }
        states[^1] = Norm(x, w[Prefix + "norm.weight"], Hidden);
        var y = new float[Length * Hidden * states.Count];
        for (int p = 0; p < Length; p++) for (int i = 0; i < Hidden; i++) for (int s = 0; s < states.Count; s++)
            y[(p * Hidden + i) * states.Count + s] = (float)states[s][p * Hidden + i];
        return y;
    }

    [Fact]
    public void Random_gemma3_matches_a_plain_reference()
    {
        var w = Weights();
        string dir = Fixtures.TempDir("gemma3");
        w.Write(dir, new Dictionary<string, object?>());
        File.Move(Path.Combine(dir, "diffusion_pytorch_model.safetensors"), Path.Combine(dir, "model.safetensors"));
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["architectures"] = new[] { "Gemma3ForConditionalGeneration" },
            ["text_config"] = new Dictionary<string, object?>
            {
                ["hidden_size"] = Hidden, ["intermediate_size"] = Inter, ["num_hidden_layers"] = 2, ["num_attention_heads"] = Heads,
                ["num_key_value_heads"] = 1, ["head_dim"] = HeadDim, ["vocab_size"] = Vocab, ["rms_norm_eps"] = 1e-6,
                ["query_pre_attn_scalar"] = QueryScalar, ["sliding_window"] = Window, ["layer_types"] = new[] { "sliding_attention", "full_attention" },
                ["hidden_activation"] = "gelu_pytorch_tanh", ["attn_logit_softcapping"] = null,
                ["rope_parameters"] = new Dictionary<string, object>
                {
                    ["full_attention"] = new Dictionary<string, object> { ["rope_theta"] = ThetaFull, ["rope_type"] = "default" },
                    ["sliding_attention"] = new Dictionary<string, object> { ["rope_theta"] = ThetaSliding, ["rope_type"] = "default" },
                },
            },
        }));
        try
        {
            long[] ids = [0, 0, 2, 7, 13, 5], mask = [0, 0, 1, 1, 1, 1];
            using var weights = ComponentWeights.Open(dir);
            using var engine = OrtTestEngine.Build(Gemma3TextModel.Trace(dir, weights), "text_encoder");
            var states = engine.Run(new Dictionary<string, HostTensor>
            {
                [Gemma3TextModel.InputIdsInput] = HostTensor.Int64(ids, 1, Length),
                [Gemma3TextModel.MaskInput] = HostTensor.Int64(mask, 1, Length),
            })[Gemma3TextModel.HiddenStatesOutput];
            Assert.Equal(new long[] { 1, Length, Hidden * 3 }, states.Shape);
            Compare.Component(Reference(w, ids, mask), states.Floats, "random Gemma 3");
        }
        finally { Directory.Delete(dir, true); }
    }
}
