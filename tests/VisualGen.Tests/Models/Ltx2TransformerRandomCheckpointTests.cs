using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Ltx2.Transformer;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Models;

/// <summary>
/// The transformer on a random checkpoint of another configuration than the fixture's — LTX-2.3's prompt
/// modulation (cross_attn_mod with prompt_adaln, 9 modulation rows) on the video stream only, gated video
/// attention, video and audio of different widths and head counts (so the cross-modal RoPE groups the audio↔video
/// query/key channels by a head count that is not the attention's), video RoPE padded at the front, a
/// cross-attention gate timestep multiplier ≠ the timestep multiplier, use_cross_timestep false, timestep ≠ sigma,
/// padded text — against a plain C# float64 forward written from diffusers' LTX2VideoTransformer3DModel.
/// rope_double_precision is true and theta small, so the reference's RoPE is exact to float32 rounding.
/// </summary>
public class Ltx2TransformerRandomCheckpointTests
{
    internal const int B = 2, Heads = 4, HeadDim = 4, Dim = Heads * HeadDim, AHeads = 2, AHeadDim = 4, ADim = AHeads * AHeadDim;
    internal const int InC = 3, OutC = 5, AInC = 2, AOutC = 3, Caption = 10, Layers = 2, N = 8, M = 5, L = 6;
    internal const int MaxPos = 20, AMaxPos = 12, BaseH = 64, BaseW = 96;
    const double Theta = 100, TimestepMultiplier = 1000, CrossMultiplier = 500;
    const double Eps = 1e-6;

    static Ltx2RandomWeights Weights()
    {
        var w = new Ltx2RandomWeights(11);
        w.Layer("proj_in", [Dim, InC], InC);
        w.Layer("audio_proj_in", [ADim, AInC], AInC);
        foreach (var (p, d) in new[] { ("caption_projection", Dim), ("audio_caption_projection", ADim) })
        {
            w.Layer(p + ".linear_1", [d, Caption], Caption);
            w.Layer(p + ".linear_2", [d, d], d);
        }
        void AdaLn(string p, int d, int k)
        {
            w.Layer(p + ".emb.timestep_embedder.linear_1", [d, 256], 256);
            w.Layer(p + ".emb.timestep_embedder.linear_2", [d, d], d);
            w.Add(p + ".linear.weight", [k * d, d], 0.3f / MathF.Sqrt(d));
            w.Add(p + ".linear.bias", [k * d], 0.05f);
        }
        AdaLn("time_embed", Dim, 9);
        AdaLn("audio_time_embed", ADim, 6);
        AdaLn("av_cross_attn_video_scale_shift", Dim, 4);
        AdaLn("av_cross_attn_audio_scale_shift", ADim, 4);
        AdaLn("av_cross_attn_video_a2v_gate", Dim, 1);
        AdaLn("av_cross_attn_audio_v2a_gate", ADim, 1);
        AdaLn("prompt_adaln", Dim, 2);
        AdaLn("audio_prompt_adaln", ADim, 2);
        w.Add("scale_shift_table", [2, Dim], 0.3f);
        w.Add("audio_scale_shift_table", [2, ADim], 0.3f);
        void Attention(string p, int query, int inner, int context, int heads, bool gated)
        {
            w.Layer(p + ".to_q", [inner, query], query);
            w.Layer(p + ".to_k", [inner, context], context);
            w.Layer(p + ".to_v", [inner, context], context);
            w.Layer(p + ".to_out.0", [query, inner], inner);
            w.Add(p + ".norm_q.weight", [inner], 0.3f, 1);
            w.Add(p + ".norm_k.weight", [inner], 0.3f, 1);
            if (gated) w.Layer(p + ".to_gate_logits", [heads, query], query);
        }
        for (int i = 0; i < Layers; i++)
        {
            string b = $"transformer_blocks.{i}";
            Attention(b + ".attn1", Dim, Dim, Dim, Heads, true);
            Attention(b + ".audio_attn1", ADim, ADim, ADim, AHeads, false);
            Attention(b + ".attn2", Dim, Dim, Dim, Heads, true);
            Attention(b + ".audio_attn2", ADim, ADim, ADim, AHeads, false);
            Attention(b + ".audio_to_video_attn", Dim, ADim, ADim, AHeads, true);
            Attention(b + ".video_to_audio_attn", ADim, ADim, Dim, AHeads, false);
            w.Layer(b + ".ff.net.0.proj", [4 * Dim, Dim], Dim);
            w.Layer(b + ".ff.net.2", [Dim, 4 * Dim], 4 * Dim);
            w.Layer(b + ".audio_ff.net.0.proj", [4 * ADim, ADim], ADim);
            w.Layer(b + ".audio_ff.net.2", [ADim, 4 * ADim], 4 * ADim);
            w.Add(b + ".scale_shift_table", [9, Dim], 0.3f);
            w.Add(b + ".audio_scale_shift_table", [6, ADim], 0.3f);
            w.Add(b + ".prompt_scale_shift_table", [2, Dim], 0.3f);
            w.Add(b + ".audio_prompt_scale_shift_table", [2, ADim], 0.3f);
            w.Add(b + ".video_a2v_cross_attn_scale_shift_table", [5, Dim], 0.3f);
            w.Add(b + ".audio_a2v_cross_attn_scale_shift_table", [5, ADim], 0.3f);
        }
        w.Layer("proj_out", [OutC, Dim], Dim);
        w.Layer("audio_proj_out", [AOutC, ADim], ADim);
        return w;
    }

    // ---- plain float64 helpers on row-major [rows, width] arrays ----

    static double[] D(float[] x) => x.Select(v => (double)v).ToArray();

    static double[] Linear(double[] x, float[] w, float[]? b, int inF, int outF)
    {
        int rows = x.Length / inF;
        var y = new double[rows * outF];
        for (int r = 0; r < rows; r++) for (int o = 0; o < outF; o++)
        {
            double s = b?[o] ?? 0;
            for (int i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
            y[r * outF + o] = s;
        }
        return y;
    }

    static double[] Lin(Ltx2RandomWeights wt, string p, double[] x, int inF, int outF) => Linear(x, wt[p + ".weight"], wt[p + ".bias"], inF, outF);

    static double[] RmsNorm(double[] x, int dim, float[]? weight = null)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / dim; r++)
        {
            double ms = 0;
            for (int i = 0; i < dim; i++) ms += x[r * dim + i] * x[r * dim + i];
            double inv = 1 / Math.Sqrt(ms / dim + Eps);
            for (int i = 0; i < dim; i++) y[r * dim + i] = x[r * dim + i] * inv * (weight?[i] ?? 1);
        }
        return y;
    }

    static double[] LayerNorm(double[] x, int dim)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / dim; r++)
        {
            double mean = 0, var = 0;
            for (int i = 0; i < dim; i++) mean += x[r * dim + i] / dim;
            for (int i = 0; i < dim; i++) var += (x[r * dim + i] - mean) * (x[r * dim + i] - mean) / dim;
            for (int i = 0; i < dim; i++) y[r * dim + i] = (x[r * dim + i] - mean) / Math.Sqrt(var + Eps);
        }
        return y;
    }

    static double Silu(double u) => u / (1 + Math.Exp(-u));
    static double GeluTanh(double u) => 0.5 * u * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (u + 0.044715 * u * u * u)));
    static double[] Map(double[] x, Func<double, double> f) => x.Select(f).ToArray();
    static double[] Add(double[] a, double[] b) => a.Zip(b, (u, v) => u + v).ToArray();

    /// <summary>x·(1 + scale) + shift, scale and shift one row broadcast over x's rows.</summary>
    static double[] Modulate(double[] x, double[] scale, double[] shift)
    {
        int d = scale.Length;
        return x.Select((v, i) => v * (1 + scale[i % d]) + shift[i % d]).ToArray();
    }

    /// <summary>x + y·gate (gate one row).</summary>
    static double[] AddGated(double[] x, double[] y, double[] gate) => x.Select((v, i) => v + y[i] * gate[i % gate.Length]).ToArray();

    /// <summary>LTX2AdaLayerNormSingle for one timestep: (modulation [k·d], embedded [d]).</summary>
    static (double[] Mod, double[] Emb) AdaLn(Ltx2RandomWeights wt, string p, double t, int d, int k)
    {
        var proj = new double[256];
        for (int i = 0; i < 128; i++)
        {
            double a = t * Math.Exp(-Math.Log(10000) * i / 128);
            proj[i] = Math.Cos(a);
            proj[128 + i] = Math.Sin(a);
        }
        var emb = Lin(wt, p + ".emb.timestep_embedder.linear_2", Map(Lin(wt, p + ".emb.timestep_embedder.linear_1", proj, 256, d), Silu), d, d);
        return (Lin(wt, p + ".linear", Map(emb, Silu), d, k * d), emb);
    }

    /// <summary>Row i of table [k, d] plus the matching slice of temb [k·d].</summary>
    static double[] Param(Ltx2RandomWeights wt, string table, int row, double[] temb, int d, int tembRow) =>
        Enumerable.Range(0, d).Select(j => wt[table][row * d + j] + temb[tembRow * d + j]).ToArray();

    /// <summary>Split RoPE angles [tokens, dim/2]: per token, (2·mid/max − 1)·freq, frequencies major, axes minor,
    /// front-padded with zero angles (cos 1, sin 0).</summary>
    static double[] RopeAngles(float[][] coords, int[] axesMax, int dim)
    {
        int axes = axesMax.Length, f = dim / (2 * axes), pad = dim / 2 - f * axes, tokens = coords[0].Length / 2;
        var freqs = Enumerable.Range(0, f).Select(i => Math.Pow(Theta, f == 1 ? 0 : (double)i / (f - 1)) * Math.PI / 2).ToArray();
        var angles = new double[tokens * dim / 2];
        for (int t = 0; t < tokens; t++)
            for (int i = 0; i < f; i++)
                for (int a = 0; a < axes; a++)
                {
                    double mid = ((double)coords[a][2 * t] + coords[a][2 * t + 1]) / 2 / axesMax[a];
                    angles[t * dim / 2 + pad + i * axes + a] = (2 * mid - 1) * freqs[i];
                }
        return angles;
    }

    /// <summary>Rotates x [tokens, inner] with the channels in <paramref name="groups"/> groups, each split in halves.</summary>
    static double[] Rotate(double[] x, double[] angles, int inner, int groups)
    {
        int w = inner / groups, r = w / 2, tokens = x.Length / inner;
        var y = (double[])x.Clone();
        for (int t = 0; t < tokens; t++)
            for (int g = 0; g < groups; g++)
                for (int j = 0; j < r; j++)
                {
                    double a = angles[t * inner / 2 + g * r + j], c = Math.Cos(a), s = Math.Sin(a);
                    int i1 = t * inner + g * w + j, i2 = i1 + r;
                    y[i1] = x[i1] * c - x[i2] * s;
                    y[i2] = x[i2] * c + x[i1] * s;
                }
        return y;
    }

    sealed record RopeTable(double[] Angles, int Groups);

    static double[] Attention(Ltx2RandomWeights wt, string p, double[] xq, double[] xkv, int qDim, int kvDim, int heads, int headDim,
        RopeTable? qRope, RopeTable? kRope, long[]? keyMask, bool gated, bool valueOnly = false)
    {
        int inner = heads * headDim, nq = xq.Length / qDim, nk = xkv.Length / kvDim;
        var q = RmsNorm(Lin(wt, p + ".to_q", xq, qDim, inner), inner, wt[p + ".norm_q.weight"]);
        var k = RmsNorm(Lin(wt, p + ".to_k", xkv, kvDim, inner), inner, wt[p + ".norm_k.weight"]);
        var v = Lin(wt, p + ".to_v", xkv, kvDim, inner);
        if (qRope is not null && kRope is not null)
        {
            q = Rotate(q, qRope.Angles, inner, qRope.Groups);
            k = Rotate(k, kRope.Angles, inner, kRope.Groups);
        }
        var gates = gated ? Lin(wt, p + ".to_gate_logits", xq, qDim, heads) : null;
        var o = new double[nq * inner];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < nq; i++)
            {
                var s = new double[nk];
                for (int j = 0; j < nk; j++)
                {
                    double d = 0;
                    for (int e = 0; e < headDim; e++) d += q[i * inner + h * headDim + e] * k[j * inner + h * headDim + e];
                    s[j] = d / Math.Sqrt(headDim) + (keyMask is null ? 0 : (1 - keyMask[j]) * -10000.0);
                }
                double m = s.Max(), z = s.Sum(u => Math.Exp(u - m));
                double g = gates is null ? 1 : 2 / (1 + Math.Exp(-gates[i * heads + h]));
                for (int e = 0; e < headDim; e++)
                {
                    double acc = 0;
                    for (int j = 0; j < nk; j++) acc += Math.Exp(s[j] - m) / z * v[j * inner + h * headDim + e];
                    o[i * inner + h * headDim + e] = g * (valueOnly ? v[i * inner + h * headDim + e] : acc);
                }
            }
        return Lin(wt, p + ".to_out.0", o, inner, qDim);
    }

    static double[] FeedForward(Ltx2RandomWeights wt, string p, double[] x, int dim) =>
        Lin(wt, p + ".net.2", Map(Lin(wt, p + ".net.0.proj", x, dim, 4 * dim), GeluTanh), 4 * dim, dim);

    /// <summary>One batch element: (video [N, OutC], audio [M, AOutC]).</summary>
    static (double[] Video, double[] Audio) Reference(Ltx2RandomWeights wt, float[] hidden, float[] audioHidden, float[] text, float[] audioText,
        double timestep, double sigma, long[] mask, long[] audioMask, float[][] videoCoords, float[] audioCoords, Case c)
    {
        var videoRope = new RopeTable(RopeAngles(videoCoords, [MaxPos, BaseH, BaseW], Dim), Heads);
        var audioRope = new RopeTable(RopeAngles([audioCoords], [AMaxPos], ADim), AHeads);
        int crossMax = Math.Max(MaxPos, AMaxPos);
        var caVideoRope = new RopeTable(RopeAngles([videoCoords[0]], [crossMax], ADim), Heads);
        var caAudioRope = new RopeTable(RopeAngles([audioCoords], [crossMax], ADim), AHeads);

        var x = Lin(wt, "proj_in", D(hidden), InC, Dim);
        var ax = Lin(wt, "audio_proj_in", D(audioHidden), AInC, ADim);
        var (temb, embedded) = AdaLn(wt, "time_embed", timestep, Dim, 9);
        var (tembAudio, audioEmbedded) = AdaLn(wt, "audio_time_embed", timestep, ADim, 6);
        var tembPrompt = AdaLn(wt, "prompt_adaln", sigma, Dim, 2).Mod;
        var tembPromptAudio = AdaLn(wt, "audio_prompt_adaln", sigma, ADim, 2).Mod;
        // the cross-modal modulation takes the other stream's sigma (use_cross_timestep) or the stream's own timestep;
        // both streams share timestep and sigma here
        double gateFactor = CrossMultiplier / TimestepMultiplier, caT = c.UseCrossTimestep ? sigma : timestep;
        var caScaleShift = AdaLn(wt, "av_cross_attn_video_scale_shift", caT, Dim, 4).Mod;
        var caGate = AdaLn(wt, "av_cross_attn_video_a2v_gate", caT * gateFactor, Dim, 1).Mod;
        var caAudioScaleShift = AdaLn(wt, "av_cross_attn_audio_scale_shift", caT, ADim, 4).Mod;
        var caAudioGate = AdaLn(wt, "av_cross_attn_audio_v2a_gate", caT * gateFactor, ADim, 1).Mod;
        var enc = Lin(wt, "caption_projection.linear_2", Map(Lin(wt, "caption_projection.linear_1", D(text), Caption, Dim), GeluTanh), Dim, Dim);
        var aenc = Lin(wt, "audio_caption_projection.linear_2", Map(Lin(wt, "audio_caption_projection.linear_1", D(audioText), Caption, ADim), GeluTanh), ADim, ADim);

        for (int i = 0; i < Layers; i++)
        {
            string b = $"transformer_blocks.{i}";
            bool perturbed = c.PerturbedAttn && c.StgBlocks.Contains(i);
            double[] V(int row) => Param(wt, b + ".scale_shift_table", row, temb, Dim, row);
            double[] A(int row) => Param(wt, b + ".audio_scale_shift_table", row, tembAudio, ADim, row);
            // 1. self-attention
            x = AddGated(x, Attention(wt, b + ".attn1", Modulate(RmsNorm(x, Dim), V(1), V(0)), Modulate(RmsNorm(x, Dim), V(1), V(0)),
                Dim, Dim, Heads, HeadDim, videoRope, videoRope, null, true, perturbed), V(2));
            ax = AddGated(ax, Attention(wt, b + ".audio_attn1", Modulate(RmsNorm(ax, ADim), A(1), A(0)), Modulate(RmsNorm(ax, ADim), A(1), A(0)),
                ADim, ADim, AHeads, AHeadDim, audioRope, audioRope, null, false, perturbed), A(2));
            // 2. prompt cross-attention: key/value modulated for both streams, the query (and a gate) for video only
            var kvEnc = Modulate(enc, Param(wt, b + ".prompt_scale_shift_table", 1, tembPrompt, Dim, 1), Param(wt, b + ".prompt_scale_shift_table", 0, tembPrompt, Dim, 0));
            var kvAenc = Modulate(aenc, Param(wt, b + ".audio_prompt_scale_shift_table", 1, tembPromptAudio, ADim, 1), Param(wt, b + ".audio_prompt_scale_shift_table", 0, tembPromptAudio, ADim, 0));
            x = AddGated(x, Attention(wt, b + ".attn2", Modulate(RmsNorm(x, Dim), V(7), V(6)), kvEnc, Dim, Dim, Heads, HeadDim, null, null, mask, true), V(8));
            ax = Add(ax, Attention(wt, b + ".audio_attn2", RmsNorm(ax, ADim), kvAenc, ADim, ADim, AHeads, AHeadDim, null, null, audioMask, false));
            // 3. audio→video and video→audio (not with isolate_modalities)
            if (!c.IsolateModalities)
            {
                var nx = RmsNorm(x, Dim);
                var nax = RmsNorm(ax, ADim);
                double[] VC(int row) => Param(wt, b + ".video_a2v_cross_attn_scale_shift_table", row, caScaleShift, Dim, row);
                double[] AC(int row) => Param(wt, b + ".audio_a2v_cross_attn_scale_shift_table", row, caAudioScaleShift, ADim, row);
                var a2vGate = Param(wt, b + ".video_a2v_cross_attn_scale_shift_table", 4, caGate, Dim, 0);
                var v2aGate = Param(wt, b + ".audio_a2v_cross_attn_scale_shift_table", 4, caAudioGate, ADim, 0);
                x = AddGated(x, Attention(wt, b + ".audio_to_video_attn", Modulate(nx, VC(0), VC(1)), Modulate(nax, AC(0), AC(1)),
                    Dim, ADim, AHeads, AHeadDim, caVideoRope, caAudioRope, null, true), a2vGate);
                ax = AddGated(ax, Attention(wt, b + ".video_to_audio_attn", Modulate(nax, AC(2), AC(3)), Modulate(nx, VC(2), VC(3)),
                    ADim, Dim, AHeads, AHeadDim, caAudioRope, caVideoRope, null, false), v2aGate);
            }
            // 4. feed-forward
            x = AddGated(x, FeedForward(wt, b + ".ff", Modulate(RmsNorm(x, Dim), V(4), V(3)), Dim), V(5));
            ax = AddGated(ax, FeedForward(wt, b + ".audio_ff", Modulate(RmsNorm(ax, ADim), A(4), A(3)), ADim), A(5));
        }
        var shift = Param(wt, "scale_shift_table", 0, embedded, Dim, 0);
        var scale = Param(wt, "scale_shift_table", 1, embedded, Dim, 0);
        var audioShift = Param(wt, "audio_scale_shift_table", 0, audioEmbedded, ADim, 0);
        var audioScale = Param(wt, "audio_scale_shift_table", 1, audioEmbedded, ADim, 0);
        return (Lin(wt, "proj_out", Modulate(LayerNorm(x, Dim), scale, shift), Dim, OutC),
            Lin(wt, "audio_proj_out", Modulate(LayerNorm(ax, ADim), audioScale, audioShift), ADim, AOutC));
    }

    /// <summary>Patch boundaries as LTX2Pipeline prepares them: video (frames 2 × 2 × 2, causal offset 1, 8× time,
    /// 32× space, 24 fps) and audio (M latent frames, 4× mel, hop 160 at 16 kHz).</summary>
    internal static (float[][] Video, float[] Audio) Coords()
    {
        var video = new float[3][];
        for (int a = 0; a < 3; a++) video[a] = new float[2 * N];
        int t = 0;
        for (int f = 0; f < 2; f++) for (int h = 0; h < 2; h++) for (int w = 0; w < 2; w++, t++)
        {
            video[0][2 * t] = Math.Max(0, f * 8 + 1 - 8) / 24f;
            video[0][2 * t + 1] = Math.Max(0, (f + 1) * 8 + 1 - 8) / 24f;
            video[1][2 * t] = h * 32; video[1][2 * t + 1] = (h + 1) * 32;
            video[2][2 * t] = w * 32; video[2][2 * t + 1] = (w + 1) * 32;
        }
        var audio = new float[2 * M];
        for (int i = 0; i < M; i++)
        {
            audio[2 * i] = Math.Max(0, i * 4 + 1 - 4) * 160 / 16000f;
            audio[2 * i + 1] = Math.Max(0, (i + 1) * 4 + 1 - 4) * 160 / 16000f;
        }
        return (video, audio);
    }

    sealed record Case(bool UseCrossTimestep, bool IsolateModalities, bool PerturbedAttn, int[] StgBlocks);

    [Fact]
    public void Random_transformer_with_prompt_modulation_and_gates_matches_a_plain_reference() =>
        Run(new Case(UseCrossTimestep: false, IsolateModalities: false, PerturbedAttn: false, StgBlocks: []));

    /// <summary>LTX2Pipeline's other calls: STG on block 1 of a perturbed_attn checkpoint (both streams'
    /// self-attention reduced to the gated value projection), the modality-isolated call (no audio↔video
    /// attention), and use_cross_timestep.</summary>
    [Fact]
    public void Random_transformer_with_stg_isolated_modalities_and_cross_timestep_matches_a_plain_reference() =>
        Run(new Case(UseCrossTimestep: true, IsolateModalities: true, PerturbedAttn: true, StgBlocks: [1]));

    /// <summary>Without perturbed_attn the STG blocks change nothing (diffusers' default processor ignores them).</summary>
    [Fact]
    public void Random_transformer_ignores_stg_blocks_without_perturbed_attn() =>
        Run(new Case(UseCrossTimestep: false, IsolateModalities: false, PerturbedAttn: false, StgBlocks: [0, 1]));

    /// <summary>Writes the random checkpoint (config.json and weights) into a new temporary folder; its weights for the
    /// reference forward.</summary>
    internal static (string Dir, Ltx2RandomWeights Weights) WriteCheckpoint(bool perturbedAttn)
    {
        var wt = Weights();
        string dir = wt.Write(Fixtures.TempDir("ltx2-transformer"), new Dictionary<string, object?>
        {
            ["_class_name"] = "LTX2VideoTransformer3DModel", ["in_channels"] = InC, ["out_channels"] = OutC,
            ["num_attention_heads"] = Heads, ["attention_head_dim"] = HeadDim, ["cross_attention_dim"] = Dim,
            ["vae_scale_factors"] = new[] { 8, 32, 32 }, ["pos_embed_max_pos"] = MaxPos, ["base_height"] = BaseH, ["base_width"] = BaseW,
            ["gated_attn"] = true, ["cross_attn_mod"] = true,
            ["audio_in_channels"] = AInC, ["audio_out_channels"] = AOutC, ["audio_num_attention_heads"] = AHeads,
            ["audio_attention_head_dim"] = AHeadDim, ["audio_cross_attention_dim"] = ADim, ["audio_pos_embed_max_pos"] = AMaxPos,
            ["audio_gated_attn"] = false, ["audio_cross_attn_mod"] = false, ["num_layers"] = Layers,
            ["activation_fn"] = "gelu-approximate", ["qk_norm"] = "rms_norm_across_heads", ["norm_elementwise_affine"] = false, ["norm_eps"] = Eps,
            ["caption_channels"] = Caption, ["attention_bias"] = true, ["attention_out_bias"] = true, ["rope_theta"] = Theta,
            ["rope_double_precision"] = true, ["rope_type"] = "split", ["timestep_scale_multiplier"] = TimestepMultiplier,
            ["cross_attn_timestep_scale_multiplier"] = CrossMultiplier, ["use_prompt_embeddings"] = true, ["use_prompt_adaln_single"] = true,
            ["use_keyframes_abs_pos_embedding"] = false, ["perturbed_attn"] = perturbedAttn,
        });
        return (dir, wt);
    }

    static void Run(Case c)
    {
        var (dir, wt) = WriteCheckpoint(c.PerturbedAttn);
        try
        {
            var hidden = wt.Random(B * N * InC, 2f);
            var audioHidden = wt.Random(B * M * AInC, 2f);
            var text = wt.Random(B * L * Caption, 2f);
            var audioText = wt.Random(B * L * Caption, 2f);
            float[] timestep = [870f, 250f], sigma = [0.6f, 0.3f];
            long[] mask = [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
            var (videoCoords, audioCoords) = Coords();
            var videoCoordsData = new float[B * 3 * N * 2];
            var audioCoordsData = new float[B * M * 2];
            for (int b = 0; b < B; b++)
            {
                for (int a = 0; a < 3; a++) videoCoords[a].CopyTo(videoCoordsData, (b * 3 + a) * N * 2);
                audioCoords.CopyTo(audioCoordsData, b * M * 2);
            }
            using var weights = ComponentWeights.Open(dir);
            using var engine = OrtTestEngine.Build(Ltx2VideoTransformer3DModel.Trace(dir, weights, c.UseCrossTimestep, c.IsolateModalities, c.StgBlocks), "transformer");
            var outputs = engine.Run(new Dictionary<string, HostTensor>
            {
                [Ltx2VideoTransformer3DModel.HiddenStatesInput] = HostTensor.Float32(hidden, B, N, InC),
                [Ltx2VideoTransformer3DModel.AudioHiddenStatesInput] = HostTensor.Float32(audioHidden, B, M, AInC),
                [Ltx2VideoTransformer3DModel.EncoderHiddenStatesInput] = HostTensor.Float32(text, B, L, Caption),
                [Ltx2VideoTransformer3DModel.AudioEncoderHiddenStatesInput] = HostTensor.Float32(audioText, B, L, Caption),
                [Ltx2VideoTransformer3DModel.TimestepInput] = HostTensor.Float32(timestep, B),
                [Ltx2VideoTransformer3DModel.SigmaInput] = HostTensor.Float32(sigma, B),
                [Ltx2VideoTransformer3DModel.EncoderAttentionMaskInput] = HostTensor.Int64(mask, B, L),
                [Ltx2VideoTransformer3DModel.AudioEncoderAttentionMaskInput] = HostTensor.Int64(mask, B, L),
                [Ltx2VideoTransformer3DModel.VideoCoordsInput] = HostTensor.Float32(videoCoordsData, B, 3, N, 2),
                [Ltx2VideoTransformer3DModel.AudioCoordsInput] = HostTensor.Float32(audioCoordsData, B, 1, M, 2),
            });
            var expectedVideo = new List<float>();
            var expectedAudio = new List<float>();
            for (int b = 0; b < B; b++)
            {
                var (v, a) = Reference(wt, hidden[(b * N * InC)..((b + 1) * N * InC)], audioHidden[(b * M * AInC)..((b + 1) * M * AInC)],
                    text[(b * L * Caption)..((b + 1) * L * Caption)], audioText[(b * L * Caption)..((b + 1) * L * Caption)],
                    timestep[b], sigma[b], mask[(b * L)..((b + 1) * L)], mask[(b * L)..((b + 1) * L)], videoCoords, audioCoords, c);
                expectedVideo.AddRange(v.Select(u => (float)u));
                expectedAudio.AddRange(a.Select(u => (float)u));
            }
            Compare.Component(expectedVideo.ToArray(), outputs[Ltx2VideoTransformer3DModel.SampleOutput].Floats, "random transformer video");
            Compare.Component(expectedAudio.ToArray(), outputs[Ltx2VideoTransformer3DModel.AudioSampleOutput].Floats, "random transformer audio");
        }
        finally { Directory.Delete(dir, true); }
    }
}
