using System.Text.Json;
using VisualGen.Checkpoints;
using static VisualGen.Tests.Models.FluxFloat64Ops;

namespace VisualGen.Tests.Models;

/// <summary>
/// A small random Flux2Transformer2DModel checkpoint (config.json + safetensors, keys written out from diffusers'
/// module tree independently of the exporter) and an independent float64 forward pass of diffusers'
/// transformer_flux2.py over it, written with plain loops: the reference the exported graph is checked against for
/// configurations the conformance fixture does not cover (other sizes, mlp_ratio, rope_theta, no guidance, batch 2).
/// </summary>
sealed class Flux2TransformerReference
{
    public required int InChannels { get; init; }
    public required int Heads { get; init; }
    public required int HeadDim { get; init; }
    public required int JointAttentionDim { get; init; }
    public required int NumLayers { get; init; }
    public required int NumSingleLayers { get; init; }
    public required bool GuidanceEmbeds { get; init; }
    public required int[] AxesDimsRope { get; init; }
    public required double MlpRatio { get; init; }
    public required double RopeTheta { get; init; }

    int Dim => Heads * HeadDim;
    int Mlp => (int)(Dim * MlpRatio);
    int Axes => AxesDimsRope.Length;
    readonly Dictionary<string, (long[] Shape, float[] Values)> _w = [];
    Random _rng = new(0);

    // ---- checkpoint ----

    public string Write(string dir, int seed)
    {
        _rng = new Random(seed);
        _w.Clear();
        Directory.CreateDirectory(dir);
        foreach (var e in GuidanceEmbeds ? new[] { "timestep_embedder", "guidance_embedder" } : ["timestep_embedder"])
        {
            Linear($"time_guidance_embed.{e}.linear_1", 256, Dim);
            Linear($"time_guidance_embed.{e}.linear_2", Dim, Dim);
        }
        Linear("double_stream_modulation_img.linear", Dim, 6 * Dim);
        Linear("double_stream_modulation_txt.linear", Dim, 6 * Dim);
        Linear("single_stream_modulation.linear", Dim, 3 * Dim);
        Linear("x_embedder", InChannels, Dim);
        Linear("context_embedder", JointAttentionDim, Dim);
        for (int i = 0; i < NumLayers; i++)
        {
            string b = $"transformer_blocks.{i}";
            foreach (var p in new[] { "to_q", "to_k", "to_v", "to_out.0", "add_q_proj", "add_k_proj", "add_v_proj", "to_add_out" }) Linear($"{b}.attn.{p}", Dim, Dim);
            foreach (var n in new[] { "norm_q", "norm_k", "norm_added_q", "norm_added_k" }) NormWeight($"{b}.attn.{n}.weight", HeadDim);
            foreach (var ff in new[] { "ff", "ff_context" }) { Linear($"{b}.{ff}.linear_in", Dim, 2 * Mlp); Linear($"{b}.{ff}.linear_out", Mlp, Dim); }
        }
        for (int i = 0; i < NumSingleLayers; i++)
        {
            string b = $"single_transformer_blocks.{i}";
            Linear($"{b}.attn.to_qkv_mlp_proj", Dim, 3 * Dim + 2 * Mlp);
            Linear($"{b}.attn.to_out", Dim + Mlp, Dim);
            foreach (var n in new[] { "norm_q", "norm_k" }) NormWeight($"{b}.attn.{n}.weight", HeadDim);
        }
        Linear("norm_out.linear", Dim, 2 * Dim);
        Linear("proj_out", Dim, InChannels);
        SafeTensorsWriter.Write(Path.Combine(dir, "diffusion_pytorch_model.safetensors"),
            _w.Select(kv => TensorData.Float32(kv.Key, kv.Value.Shape, kv.Value.Values)));
        var config = new Dictionary<string, object?>
        {
            ["_class_name"] = "Flux2Transformer2DModel", ["attention_head_dim"] = HeadDim, ["axes_dims_rope"] = AxesDimsRope,
            ["eps"] = 1e-6, ["guidance_embeds"] = GuidanceEmbeds, ["in_channels"] = InChannels, ["joint_attention_dim"] = JointAttentionDim,
            ["mlp_ratio"] = MlpRatio, ["num_attention_heads"] = Heads, ["num_layers"] = NumLayers, ["num_single_layers"] = NumSingleLayers,
            ["out_channels"] = null, ["patch_size"] = 1, ["rope_theta"] = RopeTheta, ["timestep_guidance_channels"] = 256,
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(config));
        return dir;
    }

    // every linear layer of FLUX.2 is bias-free
    void Linear(string name, int inF, int outF) => _w[name + ".weight"] = ([outF, inF], RandomValues(outF * inF, 1f / MathF.Sqrt(inF)));

    void NormWeight(string name, int n) => _w[name] = ([n], RandomValues(n, 0.2f).Select(v => 1 + v).ToArray());

    float[] RandomValues(int n, float scale) => Enumerable.Range(0, n).Select(_ => (float)(_rng.NextDouble() * 2 - 1) * scale).ToArray();

    // ---- float64 forward ----

    double[] W(string name) => Array.ConvertAll(_w[name].Values, v => (double)v);

    /// <summary>x [rows, in] → [rows, out] with weight [out, in] (no bias).</summary>
    double[] Lin(string name, double[] x, int rows) => FluxFloat64Ops.Linear(x, rows, W(name + ".weight"), null, (int)_w[name + ".weight"].Shape[0]);

    /// <summary>SwiGLU over rows of 2·n: silu(first half) · second half → rows of n.</summary>
    static double[] SwiGlu(double[] x, int rows, int n)
    {
        var y = new double[rows * n];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < n; i++) y[r * n + i] = Silu(x[r * 2 * n + i]) * x[r * 2 * n + n + i];
        return y;
    }

    double[] HeadRms(string weight, double[] x) => FluxFloat64Ops.HeadRms(x, W(weight), HeadDim);

    /// <summary>Rotary angles per token over the 4 (T, H, W, L) axes: [tokens, head_dim/2].</summary>
    double[] Angles(double[] ids, int tokens) => FluxFloat64Ops.Angles(ids, tokens, AxesDimsRope, RopeTheta);

    double[] Rope(double[] x, double[] ang, int tokens) => FluxFloat64Ops.Rope(x, ang, tokens, Heads, HeadDim);

    double[] Attention(double[] q, double[] k, double[] v, int tokens) => FluxFloat64Ops.Attention(q, k, v, tokens, Heads, HeadDim);

    static double[] Cols(double[] x, int rows, int width, int from, int count)
    {
        var y = new double[rows * count];
        for (int r = 0; r < rows; r++) Array.Copy(x, r * width + from, y, r * count, count);
        return y;
    }

    double[] Modulate(double[] x, int rows, double[] mod, int shiftIndex, int scaleIndex) => FluxFloat64Ops.Modulate(x, rows, Dim, mod, shiftIndex, scaleIndex);

    void AddGated(double[] x, int rows, double[] mod, int gateIndex, double[] y) => FluxFloat64Ops.AddGated(x, rows, Dim, mod, gateIndex, y);

    /// <summary>One sample's forward: hidden [img, in], context [txt, joint], t/1000, ids [tokens, 4], guidance.</summary>
    public double[] Forward(double[] hidden, int img, double[] context, int txt, double timestep, double[] imgIds, double[] txtIds, double? guidance)
    {
        var temb = Lin("time_guidance_embed.timestep_embedder.linear_2",
            Map(Lin("time_guidance_embed.timestep_embedder.linear_1", Sinusoid(timestep * 1000), 1), Silu), 1);
        if (guidance is double g)
        {
            var gemb = Lin("time_guidance_embed.guidance_embedder.linear_2", Map(Lin("time_guidance_embed.guidance_embedder.linear_1", Sinusoid(g * 1000), 1), Silu), 1);
            for (int i = 0; i < Dim; i++) temb[i] += gemb[i];
        }
        var siluTemb = Map(temb, Silu);
        var mod = Lin("double_stream_modulation_img.linear", siluTemb, 1);
        var cmod = Lin("double_stream_modulation_txt.linear", siluTemb, 1);
        var smod = Lin("single_stream_modulation.linear", siluTemb, 1);
        var x = Lin("x_embedder", hidden, img);
        var c = Lin("context_embedder", context, txt);
        int tokens = txt + img;
        var ang = Angles(Cat(txtIds, imgIds), tokens);

        for (int l = 0; l < NumLayers; l++)
        {
            string b = $"transformer_blocks.{l}";
            var nx = Modulate(x, img, mod, 0, 1);
            var nc = Modulate(c, txt, cmod, 0, 1);
            var q = Rope(Cat(HeadRms($"{b}.attn.norm_added_q.weight", Lin($"{b}.attn.add_q_proj", nc, txt)), HeadRms($"{b}.attn.norm_q.weight", Lin($"{b}.attn.to_q", nx, img))), ang, tokens);
            var k = Rope(Cat(HeadRms($"{b}.attn.norm_added_k.weight", Lin($"{b}.attn.add_k_proj", nc, txt)), HeadRms($"{b}.attn.norm_k.weight", Lin($"{b}.attn.to_k", nx, img))), ang, tokens);
            var v = Cat(Lin($"{b}.attn.add_v_proj", nc, txt), Lin($"{b}.attn.to_v", nx, img));
            var o = Attention(q, k, v, tokens);
            AddGated(x, img, mod, 2, Lin($"{b}.attn.to_out.0", Rows(o, Dim, txt, img), img));
            AddGated(x, img, mod, 5, Lin($"{b}.ff.linear_out", SwiGlu(Lin($"{b}.ff.linear_in", Modulate(x, img, mod, 3, 4), img), img, Mlp), img));
            AddGated(c, txt, cmod, 2, Lin($"{b}.attn.to_add_out", Rows(o, Dim, 0, txt), txt));
            AddGated(c, txt, cmod, 5, Lin($"{b}.ff_context.linear_out", SwiGlu(Lin($"{b}.ff_context.linear_in", Modulate(c, txt, cmod, 3, 4), txt), txt, Mlp), txt));
        }

        var joint = Cat(c, x);
        int width = 3 * Dim + 2 * Mlp;
        for (int l = 0; l < NumSingleLayers; l++)
        {
            string b = $"single_transformer_blocks.{l}";
            var n = Modulate(joint, tokens, smod, 0, 1);
            var proj = Lin($"{b}.attn.to_qkv_mlp_proj", n, tokens);
            var q = Rope(HeadRms($"{b}.attn.norm_q.weight", Cols(proj, tokens, width, 0, Dim)), ang, tokens);
            var k = Rope(HeadRms($"{b}.attn.norm_k.weight", Cols(proj, tokens, width, Dim, Dim)), ang, tokens);
            var o = Attention(q, k, Cols(proj, tokens, width, 2 * Dim, Dim), tokens);
            var mlp = SwiGlu(Cols(proj, tokens, width, 3 * Dim, 2 * Mlp), tokens, Mlp);
            var both = new double[tokens * (Dim + Mlp)];
            for (int s = 0; s < tokens; s++)
            {
                Array.Copy(o, s * Dim, both, s * (Dim + Mlp), Dim);
                Array.Copy(mlp, s * Mlp, both, s * (Dim + Mlp) + Dim, Mlp);
            }
            AddGated(joint, tokens, smod, 2, Lin($"{b}.attn.to_out", both, tokens));
        }
        x = Rows(joint, Dim, txt, img);

        var outMod = Lin("norm_out.linear", siluTemb, 1); // scale first, then shift
        return Lin("proj_out", Modulate(x, img, outMod, 1, 0), img);
    }
}
