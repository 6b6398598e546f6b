using System.Text.Json;
using VisualGen.Checkpoints;
using static VisualGen.Tests.Models.FluxFloat64Ops;

namespace VisualGen.Tests.Models;

/// <summary>
/// A small random FluxTransformer2DModel checkpoint (config.json + safetensors, keys written out from diffusers'
/// module tree independently of the exporter) and an independent float64 forward pass of diffusers'
/// transformer_flux.py over it, written with plain loops: the reference the exported graph is checked against for
/// configurations the conformance fixture does not cover (schnell: no guidance embedding; other sizes, batch 2).
/// </summary>
sealed class FluxTransformerReference
{
    public required int InChannels { get; init; }
    public required int Heads { get; init; }
    public required int HeadDim { get; init; }
    public required int JointAttentionDim { get; init; }
    public required int PooledProjectionDim { get; init; }
    public required int NumLayers { get; init; }
    public required int NumSingleLayers { get; init; }
    public required bool GuidanceEmbeds { get; init; }
    public required int[] AxesDimsRope { get; init; }

    int Dim => Heads * HeadDim;
    readonly Dictionary<string, (long[] Shape, float[] Values)> _w = [];
    Random _rng = new(0);

    // ---- checkpoint ----

    public string Write(string dir, int seed)
    {
        _rng = new Random(seed);
        _w.Clear();
        Directory.CreateDirectory(dir);
        Linear("x_embedder", InChannels, Dim);
        Linear("context_embedder", JointAttentionDim, Dim);
        Linear("time_text_embed.timestep_embedder.linear_1", 256, Dim);
        Linear("time_text_embed.timestep_embedder.linear_2", Dim, Dim);
        if (GuidanceEmbeds)
        {
            Linear("time_text_embed.guidance_embedder.linear_1", 256, Dim);
            Linear("time_text_embed.guidance_embedder.linear_2", Dim, Dim);
        }
        Linear("time_text_embed.text_embedder.linear_1", PooledProjectionDim, Dim);
        Linear("time_text_embed.text_embedder.linear_2", Dim, Dim);
        for (int i = 0; i < NumLayers; i++)
        {
            string b = $"transformer_blocks.{i}";
            Linear($"{b}.norm1.linear", Dim, 6 * Dim);
            Linear($"{b}.norm1_context.linear", Dim, 6 * Dim);
            foreach (var p in new[] { "to_q", "to_k", "to_v", "to_out.0", "add_q_proj", "add_k_proj", "add_v_proj", "to_add_out" }) Linear($"{b}.attn.{p}", Dim, Dim);
            foreach (var n in new[] { "norm_q", "norm_k", "norm_added_q", "norm_added_k" }) NormWeight($"{b}.attn.{n}.weight", HeadDim);
            foreach (var ff in new[] { "ff", "ff_context" }) { Linear($"{b}.{ff}.net.0.proj", Dim, 4 * Dim); Linear($"{b}.{ff}.net.2", 4 * Dim, Dim); }
        }
        for (int i = 0; i < NumSingleLayers; i++)
        {
            string b = $"single_transformer_blocks.{i}";
            Linear($"{b}.norm.linear", Dim, 3 * Dim);
            Linear($"{b}.proj_mlp", Dim, 4 * Dim);
            Linear($"{b}.proj_out", 5 * Dim, Dim);
            foreach (var p in new[] { "to_q", "to_k", "to_v" }) Linear($"{b}.attn.{p}", Dim, Dim);
            foreach (var n in new[] { "norm_q", "norm_k" }) NormWeight($"{b}.attn.{n}.weight", HeadDim);
        }
        Linear("norm_out.linear", Dim, 2 * Dim);
        Linear("proj_out", Dim, InChannels);
        SafeTensorsWriter.Write(Path.Combine(dir, "diffusion_pytorch_model.safetensors"),
            _w.Select(kv => TensorData.Float32(kv.Key, kv.Value.Shape, kv.Value.Values)));
        var config = new Dictionary<string, object?>
        {
            ["_class_name"] = "FluxTransformer2DModel", ["attention_head_dim"] = HeadDim, ["axes_dims_rope"] = AxesDimsRope,
            ["guidance_embeds"] = GuidanceEmbeds, ["in_channels"] = InChannels, ["joint_attention_dim"] = JointAttentionDim,
            ["num_attention_heads"] = Heads, ["num_layers"] = NumLayers, ["num_single_layers"] = NumSingleLayers,
            ["out_channels"] = null, ["patch_size"] = 1, ["pooled_projection_dim"] = PooledProjectionDim,
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(config));
        return dir;
    }

    void Linear(string name, int inF, int outF)
    {
        float scale = 1f / MathF.Sqrt(inF);
        _w[name + ".weight"] = ([outF, inF], RandomValues(outF * inF, scale));
        _w[name + ".bias"] = ([outF], RandomValues(outF, 0.1f));
    }

    void NormWeight(string name, int n) => _w[name] = ([n], RandomValues(n, 0.2f).Select(v => 1 + v).ToArray());

    float[] RandomValues(int n, float scale) => Enumerable.Range(0, n).Select(_ => (float)(_rng.NextDouble() * 2 - 1) * scale).ToArray();

    // ---- float64 forward ----

    double[] W(string name) => Array.ConvertAll(_w[name].Values, v => (double)v);

    /// <summary>x [rows, in] → [rows, out] with weight [out, in] and bias.</summary>
    double[] Lin(string name, double[] x, int rows)
    {
        var b = W(name + ".bias");
        return FluxFloat64Ops.Linear(x, rows, W(name + ".weight"), b, b.Length);
    }

    double[] HeadRms(string weight, double[] x) => FluxFloat64Ops.HeadRms(x, W(weight), HeadDim);

    double[] Angles(double[] ids, int tokens) => FluxFloat64Ops.Angles(ids, tokens, AxesDimsRope, 10000);

    double[] Rope(double[] x, double[] ang, int tokens) => FluxFloat64Ops.Rope(x, ang, tokens, Heads, HeadDim);

    double[] Attention(double[] q, double[] k, double[] v, int tokens) => FluxFloat64Ops.Attention(q, k, v, tokens, Heads, HeadDim);

    double[] Modulate(double[] x, int rows, double[] mod, int shiftIndex, int scaleIndex) => FluxFloat64Ops.Modulate(x, rows, Dim, mod, shiftIndex, scaleIndex);

    void AddGated(double[] x, int rows, double[] mod, int gateIndex, double[] y) => FluxFloat64Ops.AddGated(x, rows, Dim, mod, gateIndex, y);

    /// <summary>One sample's forward: hidden [img, in], context [txt, joint], pooled [pooled], t/1000, ids, guidance.</summary>
    public double[] Forward(double[] hidden, int img, double[] context, int txt, double[] pooled, double timestep,
        double[] imgIds, double[] txtIds, double? guidance)
    {
        var x = Lin("x_embedder", hidden, img);
        var temb = Lin("time_text_embed.timestep_embedder.linear_2",
            Map(Lin("time_text_embed.timestep_embedder.linear_1", Sinusoid(timestep * 1000), 1), Silu), 1);
        if (guidance is double g)
        {
            var gemb = Lin("time_text_embed.guidance_embedder.linear_2", Map(Lin("time_text_embed.guidance_embedder.linear_1", Sinusoid(g * 1000), 1), Silu), 1);
            for (int i = 0; i < Dim; i++) temb[i] += gemb[i];
        }
        var text = Lin("time_text_embed.text_embedder.linear_2", Map(Lin("time_text_embed.text_embedder.linear_1", pooled, 1), Silu), 1);
        for (int i = 0; i < Dim; i++) temb[i] += text[i];
        var siluTemb = Map(temb, Silu);
        var c = Lin("context_embedder", context, txt);
        int tokens = txt + img;
        var ang = Angles(Cat(txtIds, imgIds), tokens);

        for (int l = 0; l < NumLayers; l++)
        {
            string b = $"transformer_blocks.{l}";
            var mod = Lin($"{b}.norm1.linear", siluTemb, 1);
            var cmod = Lin($"{b}.norm1_context.linear", siluTemb, 1);
            var nx = Modulate(x, img, mod, 0, 1);
            var nc = Modulate(c, txt, cmod, 0, 1);
            var q = Rope(Cat(HeadRms($"{b}.attn.norm_added_q.weight", Lin($"{b}.attn.add_q_proj", nc, txt)), HeadRms($"{b}.attn.norm_q.weight", Lin($"{b}.attn.to_q", nx, img))), ang, tokens);
            var k = Rope(Cat(HeadRms($"{b}.attn.norm_added_k.weight", Lin($"{b}.attn.add_k_proj", nc, txt)), HeadRms($"{b}.attn.norm_k.weight", Lin($"{b}.attn.to_k", nx, img))), ang, tokens);
            var v = Cat(Lin($"{b}.attn.add_v_proj", nc, txt), Lin($"{b}.attn.to_v", nx, img));
            var o = Attention(q, k, v, tokens);
            AddGated(x, img, mod, 2, Lin($"{b}.attn.to_out.0", Rows(o, Dim, txt, img), img));
            AddGated(c, txt, cmod, 2, Lin($"{b}.attn.to_add_out", Rows(o, Dim, 0, txt), txt));
            AddGated(x, img, mod, 5, Lin($"{b}.ff.net.2", Map(Lin($"{b}.ff.net.0.proj", Modulate(x, img, mod, 3, 4), img), GeluTanh), img));
            AddGated(c, txt, cmod, 5, Lin($"{b}.ff_context.net.2", Map(Lin($"{b}.ff_context.net.0.proj", Modulate(c, txt, cmod, 3, 4), txt), GeluTanh), txt));
        }

        var joint = Cat(c, x);
        for (int l = 0; l < NumSingleLayers; l++)
        {
            string b = $"single_transformer_blocks.{l}";
            var mod = Lin($"{b}.norm.linear", siluTemb, 1);
            var n = Modulate(joint, tokens, mod, 0, 1);
            var mlp = Map(Lin($"{b}.proj_mlp", n, tokens), GeluTanh);
            var q = Rope(HeadRms($"{b}.attn.norm_q.weight", Lin($"{b}.attn.to_q", n, tokens)), ang, tokens);
            var k = Rope(HeadRms($"{b}.attn.norm_k.weight", Lin($"{b}.attn.to_k", n, tokens)), ang, tokens);
            var o = Attention(q, k, Lin($"{b}.attn.to_v", n, tokens), tokens);
            var both = new double[tokens * 5 * Dim];
            for (int s = 0; s < tokens; s++)
            {
                Array.Copy(o, s * Dim, both, s * 5 * Dim, Dim);
                Array.Copy(mlp, s * 4 * Dim, both, s * 5 * Dim + Dim, 4 * Dim);
            }
            AddGated(joint, tokens, mod, 2, Lin($"{b}.proj_out", both, tokens));
        }
        x = Rows(joint, Dim, txt, img);

        var outMod = Lin("norm_out.linear", siluTemb, 1); // scale first, then shift
        return Lin("proj_out", Modulate(x, img, outMod, 1, 0), img);
    }
}
