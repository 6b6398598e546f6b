namespace VisualGen.Tests.Models;

/// <summary>A WanTransformer3DModel configuration (diffusers' config.json fields, T2V: no image embedder).</summary>
sealed record WanTransformerTestConfig(int Heads, int HeadDim, int Layers, int FfnDim, int TextDim, int FreqDim,
    int InChannels, int OutChannels, int[] Patch, int RopeMaxSeqLen, double Eps)
{
    public int Dim => Heads * HeadDim;
}

/// <summary>
/// WanTransformer3DModel's forward in float64, written as plain loops from diffusers' transformer_wan.py and
/// embeddings.py (get_timestep_embedding, TimestepEmbedding, PixArtAlphaTextProjection, get_1d_rotary_pos_embed)
/// and attention.py's FeedForward: conv patch embedding, 3-D RoPE, condition embedder, blocks (modulated
/// self-attention with RMSNorm'd q/k, cross-attention, modulated gated FFN), modulated output norm, unpatchify.
/// Independent of the exporter's module definitions: it only reads the checkpoint tensors by their diffusers names.
/// </summary>
sealed class WanTransformerReference(WanTransformerTestConfig c, IReadOnlyDictionary<string, float[]> w)
{
    /// <param name="hidden">[batch, in_channels, frames, height, width]</param>
    /// <param name="timestep">[batch], or [batch, tokens] when <paramref name="perToken"/> (expand_timesteps)</param>
    /// <param name="text">[batch, textLen, text_dim]</param>
    /// <returns>sample [batch, out_channels, frames, height, width], flattened</returns>
    public double[] Forward(float[] hidden, int batch, int frames, int height, int width, float[] timestep, bool perToken, float[] text, int textLen)
    {
        int pt = c.Patch[0], ph = c.Patch[1], pw = c.Patch[2];
        int ppf = frames / pt, pph = height / ph, ppw = width / pw, tokens = ppf * pph * ppw, d = c.Dim;
        var (ropeCos, ropeSin) = Rope(ppf, pph, ppw);
        var output = new double[batch * c.OutChannels * frames * height * width];

        for (int b = 0; b < batch; b++)
        {
            // 1. patch embedding: Conv3d with kernel = stride = patch, flattened to tokens in (f, h, w) order
            var x = new double[tokens][];
            for (int f = 0; f < ppf; f++)
                for (int h = 0; h < pph; h++)
                    for (int ww = 0; ww < ppw; ww++)
                    {
                        var v = new double[d];
                        for (int o = 0; o < d; o++)
                        {
                            double s = w["patch_embedding.bias"][o];
                            for (int ch = 0; ch < c.InChannels; ch++)
                                for (int kt = 0; kt < pt; kt++)
                                    for (int kh = 0; kh < ph; kh++)
                                        for (int kw = 0; kw < pw; kw++)
                                        {
                                            double wt = w["patch_embedding.weight"][(((o * c.InChannels + ch) * pt + kt) * ph + kh) * pw + kw];
                                            s += wt * hidden[(((b * c.InChannels + ch) * frames + f * pt + kt) * height + h * ph + kh) * width + ww * pw + kw];
                                        }
                            v[o] = s;
                        }
                        x[(f * pph + h) * ppw + ww] = v;
                    }

            // 2. condition embedder: one (temb, timestep_proj) per token (all equal unless per-token timesteps)
            var temb = new double[tokens][];
            var mod = new double[tokens][][];
            for (int n = 0; n < tokens; n++)
            {
                if (n > 0 && !perToken) { temb[n] = temb[0]; mod[n] = mod[0]; continue; }
                double t = perToken ? timestep[b * tokens + n] : timestep[b];
                var e = Linear("condition_embedder.time_embedder.linear_2",
                    Silu(Linear("condition_embedder.time_embedder.linear_1", TimestepEmbedding(t))));
                temb[n] = e;
                var proj = Linear("condition_embedder.time_proj", Silu(e));
                mod[n] = Enumerable.Range(0, 6).Select(k => proj.AsSpan(k * d, d).ToArray()).ToArray();
            }
            var context = new double[textLen][];
            for (int s = 0; s < textLen; s++)
            {
                var tv = new double[c.TextDim];
                for (int k = 0; k < c.TextDim; k++) tv[k] = text[(b * textLen + s) * c.TextDim + k];
                context[s] = Linear("condition_embedder.text_embedder.linear_2", GeluTanh(Linear("condition_embedder.text_embedder.linear_1", tv)));
            }

            // 3. blocks
            for (int l = 0; l < c.Layers; l++)
            {
                string p = $"blocks.{l}.";
                var sst = w[p + "scale_shift_table"];
                double M(int n, int k, int e) => sst[k * d + e] + mod[n][k][e];   // shift, scale, gate, c_shift, c_scale, c_gate

                var normed = new double[tokens][];
                for (int n = 0; n < tokens; n++)
                {
                    var ln = LayerNorm(x[n], null, null);
                    normed[n] = ln.Select((v, e) => v * (1 + M(n, 1, e)) + M(n, 0, e)).ToArray();
                }
                var attn = Attention(p + "attn1.", normed, normed, ropeCos, ropeSin);
                for (int n = 0; n < tokens; n++)
                    for (int e = 0; e < d; e++) x[n][e] += attn[n][e] * M(n, 2, e);

                normed = x.Select(v => LayerNorm(v, w[p + "norm2.weight"], w[p + "norm2.bias"])).ToArray();
                attn = Attention(p + "attn2.", normed, context, null, null);
                for (int n = 0; n < tokens; n++)
                    for (int e = 0; e < d; e++) x[n][e] += attn[n][e];

                for (int n = 0; n < tokens; n++)
                {
                    var ln = LayerNorm(x[n], null, null);
                    var h = ln.Select((v, e) => v * (1 + M(n, 4, e)) + M(n, 3, e)).ToArray();
                    var ff = Linear(p + "ffn.net.2", GeluTanh(Linear(p + "ffn.net.0.proj", h)));
                    for (int e = 0; e < d; e++) x[n][e] += ff[e] * M(n, 5, e);
                }
            }

            // 4. output norm modulated by temb + scale_shift_table (shift, scale), projection, unpatchify
            var outTable = w["scale_shift_table"];
            for (int f = 0; f < ppf; f++)
                for (int h = 0; h < pph; h++)
                    for (int ww = 0; ww < ppw; ww++)
                    {
                        int n = (f * pph + h) * ppw + ww;
                        var ln = LayerNorm(x[n], null, null);
                        var y = Linear("proj_out", ln.Select((v, e) => v * (1 + outTable[d + e] + temb[n][e]) + outTable[e] + temb[n][e]).ToArray());
                        // proj_out's features are (pt, ph, pw, out_channels); the sample is [b, ch, f·pt+kt, h·ph+kh, w·pw+kw]
                        for (int kt = 0; kt < pt; kt++)
                            for (int kh = 0; kh < ph; kh++)
                                for (int kw = 0; kw < pw; kw++)
                                    for (int ch = 0; ch < c.OutChannels; ch++)
                                        output[(((b * c.OutChannels + ch) * frames + f * pt + kt) * height + h * ph + kh) * width + ww * pw + kw] =
                                            y[((kt * ph + kh) * pw + kw) * c.OutChannels + ch];
                    }
        }
        return output;
    }

    /// <summary>get_timestep_embedding(t, freq_dim, flip_sin_to_cos=True, downscale_freq_shift=0): [cos, sin].</summary>
    double[] TimestepEmbedding(double t)
    {
        int half = c.FreqDim / 2;
        var e = new double[c.FreqDim];
        for (int i = 0; i < half; i++)
        {
            double arg = t * Math.Exp(-Math.Log(10000) * i / half);
            e[i] = Math.Cos(arg);
            e[half + i] = Math.Sin(arg);
        }
        return e;
    }

    /// <summary>WanRotaryPosEmbed: per token, the head dim's cos/sin (repeat-interleaved, as get_1d_rotary_pos_embed
    /// with use_real and repeat_interleave_real) of the t, h and w parts concatenated.</summary>
    (double[][] Cos, double[][] Sin) Rope(int ppf, int pph, int ppw)
    {
        int hDim = 2 * (c.HeadDim / 6), tDim = c.HeadDim - 2 * hDim;
        var cos = new double[ppf * pph * ppw][];
        var sin = new double[ppf * pph * ppw][];
        for (int f = 0; f < ppf; f++)
            for (int h = 0; h < pph; h++)
                for (int ww = 0; ww < ppw; ww++)
                {
                    var cv = new List<double>();
                    var sv = new List<double>();
                    foreach (var (dim, pos) in new[] { (tDim, f), (hDim, h), (hDim, ww) })
                        for (int j = 0; j < dim / 2; j++)
                        {
                            double angle = pos * (1.0 / Math.Pow(10000.0, 2.0 * j / dim));
                            cv.Add(Math.Cos(angle)); cv.Add(Math.Cos(angle));
                            sv.Add(Math.Sin(angle)); sv.Add(Math.Sin(angle));
                        }
                    int n = (f * pph + h) * ppw + ww;
                    cos[n] = [.. cv];
                    sin[n] = [.. sv];
                }
        return (cos, sin);
    }

    /// <summary>WanAttention with WanAttnProcessor: q/k/v, RMSNorm of q and k across heads, RoPE on interleaved
    /// pairs (self-attention only), softmax(q·k/√head_dim)·v per head, to_out.</summary>
    double[][] Attention(string p, double[][] x, double[][] kv, double[][]? cos, double[][]? sin)
    {
        int heads = c.Heads, hd = c.HeadDim;
        var q = x.Select(v => RmsNorm(Linear(p + "to_q", v), w[p + "norm_q.weight"])).ToArray();
        var k = kv.Select(v => RmsNorm(Linear(p + "to_k", v), w[p + "norm_k.weight"])).ToArray();
        var v = kv.Select(v => Linear(p + "to_v", v)).ToArray();
        if (cos is not null)
        {
            q = q.Select((t, n) => ApplyRope(t, cos[n], sin![n])).ToArray();
            k = k.Select((t, n) => ApplyRope(t, cos[n], sin![n])).ToArray();
        }
        var o = new double[x.Length][];
        for (int i = 0; i < x.Length; i++)
        {
            o[i] = new double[heads * hd];
            for (int h = 0; h < heads; h++)
            {
                var scores = new double[kv.Length];
                for (int j = 0; j < kv.Length; j++)
                {
                    double s = 0;
                    for (int e = 0; e < hd; e++) s += q[i][h * hd + e] * k[j][h * hd + e];
                    scores[j] = s / Math.Sqrt(hd);
                }
                double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
                for (int j = 0; j < kv.Length; j++)
                {
                    double pj = Math.Exp(scores[j] - max) / sum;
                    for (int e = 0; e < hd; e++) o[i][h * hd + e] += pj * v[j][h * hd + e];
                }
            }
        }
        return o.Select(t => Linear(p + "to_out.0", t)).ToArray();
    }

    /// <summary>apply_rotary_emb: x1 = x[0::2], x2 = x[1::2]; out[0::2] = x1·cos − x2·sin, out[1::2] = x1·sin + x2·cos,
    /// with cos = freqs_cos[0::2] and sin = freqs_sin[1::2], in every head.</summary>
    double[] ApplyRope(double[] x, double[] cos, double[] sin)
    {
        var o = new double[x.Length];
        for (int h = 0; h < c.Heads; h++)
            for (int i = 0; i < c.HeadDim / 2; i++)
            {
                int a = h * c.HeadDim + 2 * i;
                double x1 = x[a], x2 = x[a + 1], co = cos[2 * i], si = sin[2 * i + 1];
                o[a] = x1 * co - x2 * si;
                o[a + 1] = x1 * si + x2 * co;
            }
        return o;
    }

    /// <summary>nn.Linear: y = W x + b with W stored [out, in].</summary>
    double[] Linear(string p, double[] x)
    {
        var wt = w[p + ".weight"];
        var bias = w[p + ".bias"];
        var y = new double[bias.Length];
        if (wt.Length != y.Length * x.Length) throw new InvalidOperationException($"{p}.weight has {wt.Length} values, not {y.Length}×{x.Length}");
        for (int o = 0; o < y.Length; o++)
        {
            double s = bias[o];
            for (int i = 0; i < x.Length; i++) s += wt[o * x.Length + i] * x[i];
            y[o] = s;
        }
        return y;
    }

    double[] LayerNorm(double[] x, float[]? weight, float[]? bias)
    {
        double mean = x.Average(), variance = x.Sum(v => (v - mean) * (v - mean)) / x.Length, r = 1 / Math.Sqrt(variance + c.Eps);
        return x.Select((v, i) => (v - mean) * r * (weight?[i] ?? 1) + (bias?[i] ?? 0)).ToArray();
    }

    double[] RmsNorm(double[] x, float[] weight)
    {
        double r = 1 / Math.Sqrt(x.Sum(v => v * v) / x.Length + c.Eps);
        return x.Select((v, i) => v * r * weight[i]).ToArray();
    }

    static double[] Silu(double[] x) => x.Select(v => v / (1 + Math.Exp(-v))).ToArray();

    static double[] GeluTanh(double[] x) =>
        x.Select(v => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)))).ToArray();
}
