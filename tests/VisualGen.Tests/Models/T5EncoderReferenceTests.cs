using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Shared.T5;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

/// <summary>The T5/UMT5 encoder on small random checkpoints (configurations unlike the fixtures': inner dim ≠ d_model,
/// sequences longer than max_distance, padding) against a float64 loop implementation of the reference's math.</summary>
public class T5EncoderReferenceTests(ITestOutputHelper output)
{
    sealed record Cfg(string ModelType, int DModel, int DKv, int Heads, int DFf, int Layers, int Buckets, int MaxDistance, string FeedForwardProj);

    static readonly Dictionary<string, Cfg> Configs = new()
    {
        ["umt5"] = new("umt5", 24, 6, 3, 20, 3, 10, 7, "gated-gelu"),
        ["t5"] = new("t5", 16, 8, 2, 12, 2, 12, 9, "relu"),
    };

    [Theory]
    [InlineData("umt5")]
    [InlineData("t5")]
    public void Random_checkpoint_matches_float64_reference(string variant)
    {
        var c = Configs[variant];
        const int vocab = 50, batch = 2, seq = 12;
        int inner = c.Heads * c.DKv;
        bool gated = c.FeedForwardProj.StartsWith("gated-");
        var rng = new Random(1234);
        var tensors = new Dictionary<string, (long[] Shape, float[] Data)>();
        void Add(string name, long[] shape, float std, float mean = 0)
        {
            var d = new float[shape.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < d.Length; i++) d[i] = mean + std * (float)(rng.NextDouble() * 2 - 1);
            tensors[name] = (shape, d);
        }
        Add("shared.weight", [vocab, c.DModel], 1f);
        for (int l = 0; l < c.Layers; l++)
        {
            string p = $"encoder.block.{l}.";
            Add(p + "layer.0.layer_norm.weight", [c.DModel], 0.2f, 1f);
            foreach (var m in new[] { "q", "k", "v" }) Add(p + $"layer.0.SelfAttention.{m}.weight", [inner, c.DModel], 0.4f);
            Add(p + "layer.0.SelfAttention.o.weight", [c.DModel, inner], 0.4f);
            if (c.ModelType == "umt5" || l == 0) Add(p + "layer.0.SelfAttention.relative_attention_bias.weight", [c.Buckets, c.Heads], 1f);
            Add(p + "layer.1.layer_norm.weight", [c.DModel], 0.2f, 1f);
            if (gated) { Add(p + "layer.1.DenseReluDense.wi_0.weight", [c.DFf, c.DModel], 0.4f); Add(p + "layer.1.DenseReluDense.wi_1.weight", [c.DFf, c.DModel], 0.4f); }
            else Add(p + "layer.1.DenseReluDense.wi.weight", [c.DFf, c.DModel], 0.4f);
            Add(p + "layer.1.DenseReluDense.wo.weight", [c.DModel, c.DFf], 0.4f);
        }
        Add("encoder.final_layer_norm.weight", [c.DModel], 0.2f, 1f);

        string dir = Fixtures.TempDir("t5");
        SafeTensorsWriter.Write(Path.Combine(dir, "model.safetensors"), tensors.Select(kv => TensorData.Float32(kv.Key, kv.Value.Shape, kv.Value.Data)));
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model_type"] = c.ModelType, ["vocab_size"] = vocab, ["d_model"] = c.DModel, ["d_kv"] = c.DKv, ["num_heads"] = c.Heads,
            ["d_ff"] = c.DFf, ["num_layers"] = c.Layers, ["relative_attention_num_buckets"] = c.Buckets,
            ["relative_attention_max_distance"] = c.MaxDistance, ["feed_forward_proj"] = c.FeedForwardProj, ["layer_norm_epsilon"] = 1e-6,
        }));

        var ids = new long[batch * seq];
        var mask = new long[batch * seq];
        int[] lengths = [seq, 7];
        for (int b = 0; b < batch; b++)
            for (int s = 0; s < seq; s++) { ids[b * seq + s] = s < lengths[b] ? rng.Next(1, vocab) : 0; mask[b * seq + s] = s < lengths[b] ? 1 : 0; }

        HostTensor actual;
        using (var weights = ComponentWeights.Open(dir))
        using (var engine = OrtTestEngine.Build(T5Encoder.Trace(dir, weights), "text_encoder"))
            actual = engine.Run(new Dictionary<string, HostTensor>
            {
                ["input_ids"] = HostTensor.Int64(ids, batch, seq), ["attention_mask"] = HostTensor.Int64(mask, batch, seq),
            })["last_hidden_state"];

        var expected = Reference(c, tensors.ToDictionary(kv => kv.Key, kv => kv.Value.Data), ids, mask, batch, seq);
        Assert.Equal([batch, seq, (long)c.DModel], actual.Shape);
        output.WriteLine($"{variant}: max abs error {Compare.MaxAbs(expected, actual.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected):g3})");
        Compare.Component(expected, actual.Floats, $"{variant} random encoder");
    }

    // float64 loops over the reference's math (modeling_t5.py), written independently of the model definition
    static float[] Reference(Cfg c, Dictionary<string, float[]> w, long[] ids, long[] mask, int batch, int seq)
    {
        int d = c.DModel, inner = c.Heads * c.DKv;
        var outp = new float[batch * seq * d];
        double[] RmsNorm(double[] x, float[] g)
        {
            double ms = x.Sum(v => v * v) / x.Length, r = 1 / Math.Sqrt(ms + 1e-6);
            return x.Select((v, i) => v * r * g[i]).ToArray();
        }
        double[] MatVec(float[] m, int rows, int cols, double[] x)
        {
            var y = new double[rows];
            for (int r = 0; r < rows; r++) { double s = 0; for (int k = 0; k < cols; k++) s += m[r * cols + k] * x[k]; y[r] = s; }
            return y;
        }
        int Bucket(int rel)
        {
            int half = c.Buckets / 2, maxExact = half / 2, bucket = rel > 0 ? half : 0, n = Math.Abs(rel);
            if (n < maxExact) return bucket + n;
            int large = maxExact + (int)Math.Floor(Math.Log((double)n / maxExact) / Math.Log((double)c.MaxDistance / maxExact) * (half - maxExact));
            return bucket + Math.Min(large, half - 1);
        }
        double GeluTanh(double x) => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

        for (int b = 0; b < batch; b++)
        {
            var x = new double[seq][];
            for (int s = 0; s < seq; s++) x[s] = Enumerable.Range(0, d).Select(k => (double)w["shared.weight"][ids[b * seq + s] * d + k]).ToArray();
            for (int l = 0; l < c.Layers; l++)
            {
                string p = $"encoder.block.{l}.";
                string biasKey = $"encoder.block.{(c.ModelType == "umt5" ? l : 0)}.layer.0.SelfAttention.relative_attention_bias.weight";
                var h = x.Select(v => RmsNorm(v, w[p + "layer.0.layer_norm.weight"])).ToArray();
                var q = h.Select(v => MatVec(w[p + "layer.0.SelfAttention.q.weight"], inner, d, v)).ToArray();
                var k = h.Select(v => MatVec(w[p + "layer.0.SelfAttention.k.weight"], inner, d, v)).ToArray();
                var vv = h.Select(v => MatVec(w[p + "layer.0.SelfAttention.v.weight"], inner, d, v)).ToArray();
                var ctx = new double[seq][];
                for (int i = 0; i < seq; i++) ctx[i] = new double[inner];
                for (int hd = 0; hd < c.Heads; hd++)
                    for (int i = 0; i < seq; i++)
                    {
                        var scores = new double[seq];
                        for (int j = 0; j < seq; j++)
                        {
                            double s = 0;
                            for (int e = 0; e < c.DKv; e++) s += q[i][hd * c.DKv + e] * k[j][hd * c.DKv + e];
                            scores[j] = s + w[biasKey][Bucket(j - i) * c.Heads + hd] + (mask[b * seq + j] == 0 ? float.MinValue : 0);
                        }
                        double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
                        for (int j = 0; j < seq; j++)
                        {
                            double pj = Math.Exp(scores[j] - max) / sum;
                            for (int e = 0; e < c.DKv; e++) ctx[i][hd * c.DKv + e] += pj * vv[j][hd * c.DKv + e];
                        }
                    }
                for (int i = 0; i < seq; i++)
                {
                    var o = MatVec(w[p + "layer.0.SelfAttention.o.weight"], d, inner, ctx[i]);
                    for (int e = 0; e < d; e++) x[i][e] += o[e];
                    var f = RmsNorm(x[i], w[p + "layer.1.layer_norm.weight"]);
                    double[] act = c.FeedForwardProj.StartsWith("gated-")
                        ? MatVec(w[p + "layer.1.DenseReluDense.wi_0.weight"], c.DFf, d, f).Zip(MatVec(w[p + "layer.1.DenseReluDense.wi_1.weight"], c.DFf, d, f), (g, lin) => GeluTanh(g) * lin).ToArray()
                        : MatVec(w[p + "layer.1.DenseReluDense.wi.weight"], c.DFf, d, f).Select(v => Math.Max(v, 0)).ToArray();
                    var ff = MatVec(w[p + "layer.1.DenseReluDense.wo.weight"], d, c.DFf, act);
                    for (int e = 0; e < d; e++) x[i][e] += ff[e];
                }
            }
            for (int s = 0; s < seq; s++)
            {
                var y = RmsNorm(x[s], w["encoder.final_layer_norm.weight"]);
                for (int e = 0; e < d; e++) outp[(b * seq + s) * d + e] = (float)y[e];
            }
        }
        return outp;
    }
}
