using System.Text.Json;
using VisualGen.Checkpoints;

namespace VisualGen.Tests.Models;

/// <summary>
/// A small random Cosmos3OmniTransformer checkpoint (config.json + safetensors, keys written out from diffusers' module
/// tree independently of the exporter) and an independent float64 forward pass of diffusers' transformer_cosmos3.py
/// over it, written with plain loops: the reference the exported graph is checked against for configurations the
/// conformance fixtures do not cover (other head counts and widths, relu2 MLPs, no text q/k norm with the separate
/// und-key norm for generation, attention biases, other mRoPE sections).
/// </summary>
sealed class Cosmos3TransformerReference
{
    public required int HiddenSize { get; init; }
    public required int Heads { get; init; }
    public required int KvHeads { get; init; }
    public required int HeadDim { get; init; }
    public required int IntermediateSize { get; init; }
    public required int Layers { get; init; }
    public required int VocabSize { get; init; }
    public required int LatentChannels { get; init; }
    public required int[] RopeAxesDim { get; init; }
    public string HiddenAct { get; init; } = "silu";
    public bool QkNormForText { get; init; } = true;
    public bool UseUndKNormForGen { get; init; }
    public bool AttentionBias { get; init; }
    public double RopeTheta { get; init; } = 5000000.0;
    public int PatchSize { get; init; } = 2;

    public int PatchLatentDim => PatchSize * PatchSize * LatentChannels;
    const double Eps = 1e-6;
    readonly Dictionary<string, (long[] Shape, float[] Values)> _w = [];
    Random _rng = new(0);

    // ---- checkpoint ----

    public string Write(string dir, int seed)
    {
        _rng = new Random(seed);
        _w.Clear();
        Directory.CreateDirectory(dir);
        _w["embed_tokens.weight"] = ([VocabSize, HiddenSize], RandomValues(VocabSize * HiddenSize, 1f));
        int q = Heads * HeadDim, kv = KvHeads * HeadDim;
        for (int i = 0; i < Layers; i++)
        {
            string l = $"layers.{i}";
            foreach (var n in new[] { "input_layernorm", "input_layernorm_moe_gen", "post_attention_layernorm", "post_attention_layernorm_moe_gen" })
                NormWeight($"{l}.{n}.weight", HiddenSize);
            string a = $"{l}.self_attn";
            Linear($"{a}.to_q", HiddenSize, q, AttentionBias); Linear($"{a}.to_k", HiddenSize, kv, AttentionBias);
            Linear($"{a}.to_v", HiddenSize, kv, AttentionBias); Linear($"{a}.to_out", q, HiddenSize, AttentionBias);
            Linear($"{a}.add_q_proj", HiddenSize, q, AttentionBias); Linear($"{a}.add_k_proj", HiddenSize, kv, AttentionBias);
            Linear($"{a}.add_v_proj", HiddenSize, kv, AttentionBias); Linear($"{a}.to_add_out", q, HiddenSize, AttentionBias);
            if (QkNormForText) { NormWeight($"{a}.norm_q.weight", HeadDim); NormWeight($"{a}.norm_k.weight", HeadDim); }
            else if (UseUndKNormForGen) NormWeight($"{a}.k_norm_und_for_gen.weight", HeadDim);
            NormWeight($"{a}.norm_added_q.weight", HeadDim); NormWeight($"{a}.norm_added_k.weight", HeadDim);
            foreach (var m in new[] { "mlp", "mlp_moe_gen" })
            {
                if (HiddenAct == "silu") Linear($"{l}.{m}.gate_proj", HiddenSize, IntermediateSize, false);
                Linear($"{l}.{m}.up_proj", HiddenSize, IntermediateSize, false);
                Linear($"{l}.{m}.down_proj", IntermediateSize, HiddenSize, false);
            }
        }
        NormWeight("norm.weight", HiddenSize);
        NormWeight("norm_moe_gen.weight", HiddenSize);
        Linear("lm_head", HiddenSize, VocabSize, false);
        Linear("proj_in", PatchLatentDim, HiddenSize, true);
        Linear("proj_out", HiddenSize, PatchLatentDim, true);
        Linear("time_embedder.linear_1", 256, HiddenSize, true);
        Linear("time_embedder.linear_2", HiddenSize, HiddenSize, true);
        SafeTensorsWriter.Write(Path.Combine(dir, "diffusion_pytorch_model.safetensors"),
            _w.Select(kv2 => TensorData.Float32(kv2.Key, kv2.Value.Shape, kv2.Value.Values)));
        var config = new Dictionary<string, object?>
        {
            ["_class_name"] = "Cosmos3OmniTransformer", ["attention_bias"] = AttentionBias, ["head_dim"] = HeadDim,
            ["hidden_size"] = HiddenSize, ["intermediate_size"] = IntermediateSize, ["base_fps"] = 24, ["enable_fps_modulation"] = true,
            ["latent_channel"] = LatentChannels, ["latent_patch_size"] = PatchSize, ["num_attention_heads"] = Heads,
            ["num_hidden_layers"] = Layers, ["num_key_value_heads"] = KvHeads, ["patch_latent_dim"] = PatchLatentDim,
            ["rms_norm_eps"] = 1e-6, ["rope_theta"] = RopeTheta, ["rope_axes_dim"] = RopeAxesDim, ["timestep_scale"] = 0.001,
            ["vocab_size"] = VocabSize, ["hidden_act"] = HiddenAct, ["qk_norm_for_text"] = QkNormForText,
            ["use_und_k_norm_for_gen"] = UseUndKNormForGen, ["unified_3d_mrope_reset_spatial_ids"] = true,
            ["unified_3d_mrope_temporal_modality_margin"] = 15000, ["action_gen"] = false, ["sound_gen"] = false,
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(config));
        return dir;
    }

    void Linear(string name, int inF, int outF, bool bias)
    {
        _w[name + ".weight"] = ([outF, inF], RandomValues(outF * inF, 1f / MathF.Sqrt(inF)));
        if (bias) _w[name + ".bias"] = ([outF], RandomValues(outF, 0.1f));
    }

    void NormWeight(string name, int n) => _w[name] = ([n], RandomValues(n, 0.2f).Select(v => 1 + v).ToArray());

    float[] RandomValues(int n, float scale) => Enumerable.Range(0, n).Select(_ => (float)(_rng.NextDouble() * 2 - 1) * scale).ToArray();

    // ---- float64 forward ----

    double[] W(string name) => Array.ConvertAll(_w[name].Values, v => (double)v);

    /// <summary>x [rows, in] → [rows, out] with weight [out, in] and its bias when the checkpoint has one.</summary>
    double[] Lin(string name, double[] x, int rows)
    {
        var w = W(name + ".weight");
        int outF = (int)_w[name + ".weight"].Shape[0], inF = w.Length / outF;
        var b = _w.ContainsKey(name + ".bias") ? W(name + ".bias") : new double[outF];
        var y = new double[rows * outF];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outF; o++)
            {
                double s = b[o];
                for (int i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
                y[r * outF + o] = s;
            }
        return y;
    }

    /// <summary>RMSNorm over groups of <paramref name="dim"/> values with a weight.</summary>
    double[] Rms(string weight, double[] x, int dim)
    {
        var w = W(weight);
        var y = new double[x.Length];
        for (int g = 0; g < x.Length / dim; g++)
        {
            double ms = 0;
            for (int i = 0; i < dim; i++) ms += x[g * dim + i] * x[g * dim + i];
            double inv = 1 / Math.Sqrt(ms / dim + Eps);
            for (int i = 0; i < dim; i++) y[g * dim + i] = x[g * dim + i] * inv * w[i];
        }
        return y;
    }

    static double Silu(double v) => v / (1 + Math.Exp(-v));

    double[] Mlp(string name, double[] x, int rows)
    {
        var up = Lin(name + ".up_proj", x, rows);
        if (HiddenAct == "relu2") return Lin(name + ".down_proj", Array.ConvertAll(up, v => Math.Max(v, 0) * Math.Max(v, 0)), rows);
        var gate = Lin(name + ".gate_proj", x, rows);
        return Lin(name + ".down_proj", gate.Select((g, i) => Silu(g) * up[i]).ToArray(), rows);
    }

    /// <summary>cos/sin angles [tokens, head_dim/2] of apply_interleaved_mrope for positions [3, tokens].</summary>
    double[] Angles(double[] positions, int tokens)
    {
        int half = HeadDim / 2;
        var ang = new double[tokens * half];
        for (int j = 0; j < half; j++)
        {
            int axis = j % 3 == 1 && j < RopeAxesDim[1] * 3 ? 1 : j % 3 == 2 && j < RopeAxesDim[2] * 3 ? 2 : 0;
            double freq = 1 / Math.Pow(RopeTheta, 2.0 * j / HeadDim);
            for (int n = 0; n < tokens; n++) ang[n * half + j] = positions[axis * tokens + n] * freq;
        }
        return ang;
    }

    /// <summary>x·cos + rotate_half(x)·sin per head; x [tokens, heads·head_dim], angles of tokens from <paramref name="first"/>.</summary>
    double[] Rope(double[] x, double[] ang, int first, int heads)
    {
        int half = HeadDim / 2, tokens = x.Length / (heads * HeadDim);
        var y = new double[x.Length];
        for (int n = 0; n < tokens; n++)
            for (int h = 0; h < heads; h++)
            {
                int o = (n * heads + h) * HeadDim;
                for (int j = 0; j < half; j++)
                {
                    double c = Math.Cos(ang[(first + n) * half + j]), s = Math.Sin(ang[(first + n) * half + j]);
                    double a = x[o + j], b = x[o + half + j];
                    y[o + j] = a * c - b * s;
                    y[o + half + j] = b * c + a * s;
                }
            }
        return y;
    }

    /// <summary>Grouped-query attention; query i sees keys 0 … i when causal, all of them otherwise.</summary>
    double[] Attention(double[] q, double[] k, double[] v, bool causal)
    {
        int nq = q.Length / (Heads * HeadDim), nk = k.Length / (KvHeads * HeadDim), group = Heads / KvHeads;
        var o = new double[q.Length];
        double scale = 1 / Math.Sqrt(HeadDim);
        for (int h = 0; h < Heads; h++)
        {
            int kh = h / group;
            for (int i = 0; i < nq; i++)
            {
                int visible = causal ? i + 1 : nk;
                var s = new double[visible];
                double max = double.NegativeInfinity;
                for (int j = 0; j < visible; j++)
                {
                    double d = 0;
                    for (int e = 0; e < HeadDim; e++) d += q[(i * Heads + h) * HeadDim + e] * k[(j * KvHeads + kh) * HeadDim + e];
                    s[j] = d * scale;
                    max = Math.Max(max, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < visible; j++) sum += s[j] = Math.Exp(s[j] - max);
                for (int j = 0; j < visible; j++)
                    for (int e = 0; e < HeadDim; e++) o[(i * Heads + h) * HeadDim + e] += s[j] / sum * v[(j * KvHeads + kh) * HeadDim + e];
            }
        }
        return o;
    }

    static double[] Add(double[] a, double[] b) => a.Select((v, i) => v + b[i]).ToArray();

    /// <summary>The transformer's vision prediction [vision_tokens, patch_latent_dim] for one sample (every vision token).</summary>
    public double[] Forward(long[] inputIds, float[] hiddenStates, double timestep, float[] noisyTokens, float[] positionIds)
    {
        int text = inputIds.Length, vision = noisyTokens.Length, d = HiddenSize;
        var emb = W("embed_tokens.weight");
        var und = new double[text * d];
        for (int n = 0; n < text; n++) Array.Copy(emb, inputIds[n] * d, und, n * d, d);

        var sinusoid = new double[256];
        double t = timestep * 0.001;
        for (int i = 0; i < 128; i++)
        {
            double a = t * Math.Exp(-Math.Log(10000) * i / 128.0);
            sinusoid[i] = Math.Cos(a);
            sinusoid[128 + i] = Math.Sin(a);
        }
        var temb = Lin("time_embedder.linear_2", Array.ConvertAll(Lin("time_embedder.linear_1", sinusoid, 1), Silu), 1);
        var gen = Lin("proj_in", Array.ConvertAll(hiddenStates, v => (double)v), vision);
        for (int n = 0; n < vision; n++)
            for (int i = 0; i < d; i++) gen[n * d + i] += noisyTokens[n] * temb[i];

        var ang = Angles(Array.ConvertAll(positionIds, v => (double)v), text + vision);
        for (int l = 0; l < Layers; l++)
        {
            string p = $"layers.{l}", a = $"{p}.self_attn";
            var un = Rms($"{p}.input_layernorm.weight", und, d);
            var gn = Rms($"{p}.input_layernorm_moe_gen.weight", gen, d);
            var qU = Lin($"{a}.to_q", un, text);
            var kU = Lin($"{a}.to_k", un, text);
            var vU = Lin($"{a}.to_v", un, text);
            var qG = Lin($"{a}.add_q_proj", gn, vision);
            var kG = Lin($"{a}.add_k_proj", gn, vision);
            var vG = Lin($"{a}.add_v_proj", gn, vision);
            if (QkNormForText) { qU = Rms($"{a}.norm_q.weight", qU, HeadDim); kU = Rms($"{a}.norm_k.weight", kU, HeadDim); }
            var kUG = !QkNormForText && UseUndKNormForGen ? Rms($"{a}.k_norm_und_for_gen.weight", kU, HeadDim) : kU;
            qG = Rms($"{a}.norm_added_q.weight", qG, HeadDim);
            kG = Rms($"{a}.norm_added_k.weight", kG, HeadDim);
            qU = Rope(qU, ang, 0, Heads); kU = Rope(kU, ang, 0, KvHeads); kUG = Rope(kUG, ang, 0, KvHeads);
            qG = Rope(qG, ang, text, Heads); kG = Rope(kG, ang, text, KvHeads);
            var causal = Attention(qU, kU, vU, causal: true);
            var full = Attention(qG, [.. kUG, .. kG], [.. vU, .. vG], causal: false);
            und = Add(und, Lin($"{a}.to_out", causal, text));
            gen = Add(gen, Lin($"{a}.to_add_out", full, vision));
            und = Add(und, Mlp($"{p}.mlp", Rms($"{p}.post_attention_layernorm.weight", und, d), text));
            gen = Add(gen, Mlp($"{p}.mlp_moe_gen", Rms($"{p}.post_attention_layernorm_moe_gen.weight", gen, d), vision));
        }
        return Lin("proj_out", Rms("norm_moe_gen.weight", gen, d), vision);
    }
}
