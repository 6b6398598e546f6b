using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Ltx2.Vae;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Models;

/// <summary>
/// The LTX-2 video VAE decoder on a random checkpoint of another shape than the fixture's — causal, zero spatial
/// padding, three up blocks (a residual spatio-temporal upsampler with upsample_factor 2, a spatial one, a block
/// that changes channels through conv_in with its LayerNorm + 1×1×1 shortcut), patch_size 2 — against a plain C#
/// forward written from diffusers' LTX2VideoDecoder3d.
/// </summary>
public class Ltx2VideoVaeRandomCheckpointTests
{
    const int Latent = 4, Patch = 2;

    /// <summary>[C, F, H, W] volume.</summary>
    sealed record Vol(float[] D, int C, int F, int H, int W)
    {
        public float this[int c, int f, int h, int w] => D[((c * F + f) * H + h) * W + w];
        public static Vol Zeros(int c, int f, int h, int w) => new(new float[c * f * h * w], c, f, h, w);
        public void Set(int c, int f, int h, int w, float v) => D[((c * F + f) * H + h) * W + w] = v;
    }

    static Ltx2RandomWeights Weights()
    {
        var w = new Ltx2RandomWeights(11);
        void Conv(string p, int cin, int cout) => w.Layer(p + ".conv", [cout, cin, 3, 3, 3], cin * 27);
        void Resnet(string p, int cin, int cout)
        {
            Conv(p + ".conv1", cin, cout);
            Conv(p + ".conv2", cout, cout);
            if (cin != cout)
            {
                w.Add(p + ".norm3.weight", [cin], 0.2f, 1);
                w.Add(p + ".norm3.bias", [cin], 0.1f);
                w.Layer(p + ".conv_shortcut", [cout, cin, 1, 1, 1], cin);
            }
        }
        Conv("decoder.conv_in", Latent, 16);
        Resnet("decoder.mid_block.resnets.0", 16, 16);
        Conv("decoder.up_blocks.0.upsamplers.0.conv", 16, 64);
        Resnet("decoder.up_blocks.0.resnets.0", 8, 8);
        Conv("decoder.up_blocks.1.upsamplers.0.conv", 8, 32);
        Resnet("decoder.up_blocks.1.resnets.0", 8, 8);
        Resnet("decoder.up_blocks.2.conv_in", 8, 4);
        Resnet("decoder.up_blocks.2.resnets.0", 4, 4);
        Conv("decoder.conv_out", 4, 3 * Patch * Patch);
        return w;
    }

    static Vol CausalConv(Vol x, float[] w, float[] b, int cout)
    {
        var y = Vol.Zeros(cout, x.F, x.H, x.W);
        for (int o = 0; o < cout; o++)
            for (int f = 0; f < x.F; f++) for (int h = 0; h < x.H; h++) for (int ww = 0; ww < x.W; ww++)
            {
                double s = b[o];
                for (int i = 0; i < x.C; i++)
                    for (int kt = 0; kt < 3; kt++)
                    {
                        int ft = Math.Max(f + kt - 2, 0); // causal: the first frame repeated twice in front
                        for (int kh = 0; kh < 3; kh++)
                        {
                            int hh = h + kh - 1;
                            if (hh < 0 || hh >= x.H) continue;
                            for (int kw = 0; kw < 3; kw++)
                            {
                                int wx = ww + kw - 1;
                                if (wx < 0 || wx >= x.W) continue;
                                s += (double)x[i, ft, hh, wx] * w[(((o * x.C + i) * 3 + kt) * 3 + kh) * 3 + kw];
                            }
                        }
                    }
                y.Set(o, f, h, ww, (float)s);
            }
        return y;
    }

    static Vol NormSilu(Vol x)
    {
        var y = Vol.Zeros(x.C, x.F, x.H, x.W);
        for (int f = 0; f < x.F; f++) for (int h = 0; h < x.H; h++) for (int w = 0; w < x.W; w++)
        {
            double ms = 0;
            for (int c = 0; c < x.C; c++) ms += (double)x[c, f, h, w] * x[c, f, h, w];
            double r = Math.Sqrt(ms / x.C + 1e-8);
            for (int c = 0; c < x.C; c++) { double v = x[c, f, h, w] / r; y.Set(c, f, h, w, (float)(v / (1 + Math.Exp(-v)))); }
        }
        return y;
    }

    static Vol Resnet(Ltx2RandomWeights wt, string p, Vol x, int cout)
    {
        var h = CausalConv(NormSilu(x), wt[p + ".conv1.conv.weight"], wt[p + ".conv1.conv.bias"], cout);
        h = CausalConv(NormSilu(h), wt[p + ".conv2.conv.weight"], wt[p + ".conv2.conv.bias"], cout);
        var skip = x;
        if (x.C != cout)
        {
            skip = Vol.Zeros(cout, x.F, x.H, x.W);
            float[] g = wt[p + ".norm3.weight"], be = wt[p + ".norm3.bias"], sw = wt[p + ".conv_shortcut.weight"], sb = wt[p + ".conv_shortcut.bias"];
            for (int f = 0; f < x.F; f++) for (int hh = 0; hh < x.H; hh++) for (int w = 0; w < x.W; w++)
            {
                double mean = 0, var = 0;
                for (int c = 0; c < x.C; c++) mean += x[c, f, hh, w];
                mean /= x.C;
                for (int c = 0; c < x.C; c++) var += Math.Pow(x[c, f, hh, w] - mean, 2);
                var /= x.C;
                var n = Enumerable.Range(0, x.C).Select(c => (x[c, f, hh, w] - mean) / Math.Sqrt(var + 1e-6) * g[c] + be[c]).ToArray();
                for (int o = 0; o < cout; o++)
                {
                    double s = sb[o];
                    for (int c = 0; c < x.C; c++) s += n[c] * sw[o * x.C + c];
                    skip.Set(o, f, hh, w, (float)s);
                }
            }
        }
        return new Vol(h.D.Zip(skip.D, (a, b) => a + b).ToArray(), cout, x.F, x.H, x.W);
    }

    /// <summary>[C·st·sh·sw, F, H, W] → [C, F·st − (st − 1), H·sh, W·sw] (channel c·v + (a·sh + b)·sw + d).</summary>
    static Vol DepthToSpace(Vol x, int st, int sh, int sw)
    {
        int c2 = x.C / (st * sh * sw), f2 = x.F * st - (st - 1);
        var y = Vol.Zeros(c2, f2, x.H * sh, x.W * sw);
        for (int c = 0; c < c2; c++) for (int a = 0; a < st; a++) for (int b = 0; b < sh; b++) for (int d = 0; d < sw; d++)
            for (int f = 0; f < x.F; f++) for (int h = 0; h < x.H; h++) for (int w = 0; w < x.W; w++)
            {
                int fo = f * st + a - (st - 1);
                if (fo >= 0) y.Set(c, fo, h * sh + b, w * sw + d, x[((c * st + a) * sh + b) * sw + d, f, h, w]);
            }
        return y;
    }

    static Vol Reference(Ltx2RandomWeights wt, Vol z)
    {
        var x = CausalConv(z, wt["decoder.conv_in.conv.weight"], wt["decoder.conv_in.conv.bias"], 16);
        x = Resnet(wt, "decoder.mid_block.resnets.0", x, 16);
        // up block 0: residual (2, 2, 2) upsampler, upscale factor 2: 16 → 64 → 8 channels, plus the input rearranged and tiled ×4
        var residual = DepthToSpace(x, 2, 2, 2);
        residual = new Vol(Enumerable.Repeat(residual.D, 4).SelectMany(v => v).ToArray(), residual.C * 4, residual.F, residual.H, residual.W);
        var up = DepthToSpace(CausalConv(x, wt["decoder.up_blocks.0.upsamplers.0.conv.conv.weight"], wt["decoder.up_blocks.0.upsamplers.0.conv.conv.bias"], 64), 2, 2, 2);
        x = new Vol(up.D.Zip(residual.D, (a, b) => a + b).ToArray(), up.C, up.F, up.H, up.W);
        x = Resnet(wt, "decoder.up_blocks.0.resnets.0", x, 8);
        // up block 1: spatial upsampler
        x = DepthToSpace(CausalConv(x, wt["decoder.up_blocks.1.upsamplers.0.conv.conv.weight"], wt["decoder.up_blocks.1.upsamplers.0.conv.conv.bias"], 32), 1, 2, 2);
        x = Resnet(wt, "decoder.up_blocks.1.resnets.0", x, 8);
        // up block 2: 8 → 4 channels through conv_in, no upsampler
        x = Resnet(wt, "decoder.up_blocks.2.conv_in", x, 4);
        x = Resnet(wt, "decoder.up_blocks.2.resnets.0", x, 4);
        x = CausalConv(NormSilu(x), wt["decoder.conv_out.conv.weight"], wt["decoder.conv_out.conv.bias"], 3 * Patch * Patch);
        // unpatchify: channel c·p² + q1·p + q2 → (h·p + q2, w·p + q1)
        var y = Vol.Zeros(3, x.F, x.H * Patch, x.W * Patch);
        for (int c = 0; c < 3; c++) for (int q1 = 0; q1 < Patch; q1++) for (int q2 = 0; q2 < Patch; q2++)
            for (int f = 0; f < x.F; f++) for (int h = 0; h < x.H; h++) for (int w = 0; w < x.W; w++)
                y.Set(c, f, h * Patch + q2, w * Patch + q1, x[(c * Patch + q1) * Patch + q2, f, h, w]);
        return y;
    }

    [Fact]
    public void Random_video_decoder_matches_a_plain_reference()
    {
        var wt = Weights();
        string dir = wt.Write(Fixtures.TempDir("ltx2-vae"), new Dictionary<string, object?>
        {
            ["_class_name"] = "AutoencoderKLLTX2Video", ["latent_channels"] = Latent, ["out_channels"] = 3, ["patch_size"] = Patch, ["patch_size_t"] = 1,
            ["decoder_block_out_channels"] = new[] { 4, 8, 16 }, ["decoder_layers_per_block"] = new[] { 1, 1, 1, 1 },
            ["decoder_spatio_temporal_scaling"] = new[] { false, true, true }, ["upsample_type"] = new[] { "spatiotemporal", "spatial", "temporal" },
            ["upsample_residual"] = new[] { false, false, true }, ["upsample_factor"] = new[] { 1, 1, 2 }, ["decoder_causal"] = true,
            ["decoder_spatial_padding_mode"] = "zeros", ["decoder_inject_noise"] = new[] { false, false, false, false }, ["timestep_conditioning"] = false,
        });
        try
        {
            var z = new Vol(wt.Random(Latent * 3 * 3 * 2, 1.5f), Latent, 3, 3, 2);
            using var weights = ComponentWeights.Open(dir);
            using var engine = OrtTestEngine.Build(AutoencoderKLLtx2Video.TraceDecoder(dir, weights), "vae.decoder");
            var sample = engine.Run(new Dictionary<string, HostTensor> { [AutoencoderKLLtx2Video.LatentsInput] = HostTensor.Float32(z.D, 1, Latent, 3, 3, 2) })[AutoencoderKLLtx2Video.SampleOutput];
            var expected = Reference(wt, z);
            Assert.Equal(new long[] { 1, 3, 5, 24, 16 }, sample.Shape);
            Compare.Component(expected.D, sample.Floats, "random LTX-2 video decoder");
        }
        finally { Directory.Delete(dir, true); }
    }
}
