using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Ltx2.AudioVae;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Models;

/// <summary>
/// The LTX-2 audio VAE decoder on a random checkpoint of another shape than the fixture's — two levels (an upsample
/// stage), a channel-changing resnet with its nin_shortcut, mid-block attention and attention at resolution 16 —
/// against a plain C# forward written from diffusers' LTX2AudioDecoder (causal on height, pixel norm), including the
/// cut/zero-pad to 4·frames − 3 frames and mel_bins bins.
/// </summary>
public class Ltx2AudioVaeRandomCheckpointTests
{
    const int LatentChannels = 2, OutChannels = 2, MelBins = 8;

    /// <summary>[C, H, W] map.</summary>
    sealed record Map(float[] D, int C, int H, int W)
    {
        public float this[int c, int h, int w] => D[(c * H + h) * W + w];
        public static Map Zeros(int c, int h, int w) => new(new float[c * h * w], c, h, w);
        public void Set(int c, int h, int w, float v) => D[(c * H + h) * W + w] = v;
        public Map Plus(Map o) => new(D.Zip(o.D, (a, b) => a + b).ToArray(), C, H, W);
    }

    static Ltx2RandomWeights Weights()
    {
        var w = new Ltx2RandomWeights(5);
        void Conv(string p, int cin, int cout, int k = 3) => w.Layer(p + ".conv", [cout, cin, k, k], cin * k * k);
        void Resnet(string p, int cin, int cout)
        {
            Conv(p + ".conv1", cin, cout);
            Conv(p + ".conv2", cout, cout);
            if (cin != cout) Conv(p + ".nin_shortcut", cin, cout, 1);
        }
        void Attn(string p, int c) { foreach (var n in new[] { "q", "k", "v", "proj_out" }) w.Layer($"{p}.{n}", [c, c, 1, 1], c); }
        Conv("decoder.conv_in", LatentChannels, 8);
        Resnet("decoder.mid.block_1", 8, 8);
        Attn("decoder.mid.attn_1", 8);
        Resnet("decoder.mid.block_2", 8, 8);
        Resnet("decoder.up.1.block.0", 8, 8);
        Attn("decoder.up.1.attn.0", 8);
        Resnet("decoder.up.1.block.1", 8, 8);
        Attn("decoder.up.1.attn.1", 8);
        Conv("decoder.up.1.upsample.conv", 8, 8);
        Resnet("decoder.up.0.block.0", 8, 4);
        Resnet("decoder.up.0.block.1", 4, 4);
        Conv("decoder.conv_out", 4, OutChannels);
        return w;
    }

    /// <summary>Causal on height: k − 1 zero rows on top, (k − 1)/2 zero columns each side.</summary>
    static Map Conv(Ltx2RandomWeights wt, string p, Map x, int cout, int k = 3)
    {
        float[] w = wt[p + ".conv.weight"], b = wt[p + ".conv.bias"];
        var y = Map.Zeros(cout, x.H, x.W);
        for (int o = 0; o < cout; o++) for (int h = 0; h < x.H; h++) for (int ww = 0; ww < x.W; ww++)
        {
            double s = b[o];
            for (int i = 0; i < x.C; i++) for (int kh = 0; kh < k; kh++) for (int kw = 0; kw < k; kw++)
            {
                int hh = h + kh - (k - 1), wx = ww + kw - (k - 1) / 2;
                if (hh >= 0 && wx >= 0 && wx < x.W) s += (double)x[i, hh, wx] * w[((o * x.C + i) * k + kh) * k + kw];
            }
            y.Set(o, h, ww, (float)s);
        }
        return y;
    }

    static Map Norm(Map x, bool silu)
    {
        var y = Map.Zeros(x.C, x.H, x.W);
        for (int h = 0; h < x.H; h++) for (int w = 0; w < x.W; w++)
        {
            double ms = 0;
            for (int c = 0; c < x.C; c++) ms += (double)x[c, h, w] * x[c, h, w];
            double r = Math.Sqrt(ms / x.C + 1e-6);
            for (int c = 0; c < x.C; c++) { double v = x[c, h, w] / r; y.Set(c, h, w, (float)(silu ? v / (1 + Math.Exp(-v)) : v)); }
        }
        return y;
    }

    static Map Resnet(Ltx2RandomWeights wt, string p, Map x, int cout)
    {
        var h = Conv(wt, p + ".conv1", Norm(x, true), cout);
        h = Conv(wt, p + ".conv2", Norm(h, true), cout);
        return (x.C != cout ? Conv(wt, p + ".nin_shortcut", x, cout, 1) : x).Plus(h);
    }

    static Map Conv1x1(Ltx2RandomWeights wt, string p, Map x)
    {
        float[] w = wt[p + ".weight"], b = wt[p + ".bias"];
        var y = Map.Zeros(x.C, x.H, x.W);
        for (int o = 0; o < x.C; o++) for (int h = 0; h < x.H; h++) for (int ww = 0; ww < x.W; ww++)
        {
            double s = b[o];
            for (int i = 0; i < x.C; i++) s += (double)x[i, h, ww] * w[o * x.C + i];
            y.Set(o, h, ww, (float)s);
        }
        return y;
    }

    static Map Attn(Ltx2RandomWeights wt, string p, Map x)
    {
        var n = Norm(x, false);
        Map q = Conv1x1(wt, p + ".q", n), k = Conv1x1(wt, p + ".k", n), v = Conv1x1(wt, p + ".v", n);
        int hw = x.H * x.W;
        var o = Map.Zeros(x.C, x.H, x.W);
        for (int i = 0; i < hw; i++)
        {
            var s = new double[hw];
            for (int j = 0; j < hw; j++) { double d = 0; for (int c = 0; c < x.C; c++) d += (double)q.D[c * hw + i] * k.D[c * hw + j]; s[j] = d / Math.Sqrt(x.C); }
            double m = s.Max(), z = s.Sum(e => Math.Exp(e - m));
            for (int c = 0; c < x.C; c++) o.D[c * hw + i] = (float)Enumerable.Range(0, hw).Sum(j => Math.Exp(s[j] - m) / z * v.D[c * hw + j]);
        }
        return x.Plus(Conv1x1(wt, p + ".proj_out", o));
    }

    static Map Reference(Ltx2RandomWeights wt, Map z)
    {
        var x = Conv(wt, "decoder.conv_in", z, 8);
        x = Resnet(wt, "decoder.mid.block_1", x, 8);
        x = Attn(wt, "decoder.mid.attn_1", x);
        x = Resnet(wt, "decoder.mid.block_2", x, 8);
        x = Attn(wt, "decoder.up.1.attn.0", Resnet(wt, "decoder.up.1.block.0", x, 8));
        x = Attn(wt, "decoder.up.1.attn.1", Resnet(wt, "decoder.up.1.block.1", x, 8));
        var up = Map.Zeros(8, x.H * 2, x.W * 2);
        for (int c = 0; c < 8; c++) for (int h = 0; h < up.H; h++) for (int w = 0; w < up.W; w++) up.Set(c, h, w, x[c, h / 2, w / 2]);
        up = Conv(wt, "decoder.up.1.upsample.conv", up, 8);
        var dropped = Map.Zeros(8, up.H - 1, up.W);
        for (int c = 0; c < 8; c++) for (int h = 1; h < up.H; h++) for (int w = 0; w < up.W; w++) dropped.Set(c, h - 1, w, up[c, h, w]);
        x = Resnet(wt, "decoder.up.0.block.0", dropped, 4);
        x = Resnet(wt, "decoder.up.0.block.1", x, 4);
        x = Conv(wt, "decoder.conv_out", Norm(x, true), OutChannels);
        int targetT = 4 * z.H - 3;
        var y = Map.Zeros(OutChannels, targetT, MelBins);
        for (int c = 0; c < OutChannels; c++) for (int h = 0; h < Math.Min(x.H, targetT); h++) for (int w = 0; w < Math.Min(x.W, MelBins); w++) y.Set(c, h, w, x[c, h, w]);
        return y;
    }

    [Fact]
    public void Random_audio_decoder_matches_a_plain_reference()
    {
        var wt = Weights();
        string dir = wt.Write(Fixtures.TempDir("ltx2-audio-vae"), new Dictionary<string, object?>
        {
            ["_class_name"] = "AutoencoderKLLTX2Audio", ["base_channels"] = 4, ["ch_mult"] = new[] { 1, 2 }, ["num_res_blocks"] = 1,
            ["attn_resolutions"] = new[] { 16 }, ["resolution"] = 32, ["latent_channels"] = LatentChannels, ["output_channels"] = OutChannels,
            ["norm_type"] = "pixel", ["causality_axis"] = "height", ["mid_block_add_attention"] = true, ["mel_bins"] = MelBins,
            ["in_channels"] = 2, ["double_z"] = true, ["is_causal"] = true,
        });
        try
        {
            var z = new Map(wt.Random(LatentChannels * 3 * 2, 1.5f), LatentChannels, 3, 2);
            using var weights = ComponentWeights.Open(dir);
            using var engine = OrtTestEngine.Build(AutoencoderKLLtx2Audio.TraceDecoder(dir, weights), "audio_vae.decoder");
            var mel = engine.Run(new Dictionary<string, HostTensor> { [AutoencoderKLLtx2Audio.LatentsInput] = HostTensor.Float32(z.D, 1, LatentChannels, 3, 2) })[AutoencoderKLLtx2Audio.MelOutput];
            Assert.Equal(new long[] { 1, OutChannels, 9, MelBins }, mel.Shape);
            Compare.Component(Reference(wt, z).D, mel.Floats, "random LTX-2 audio decoder");
        }
        finally { Directory.Delete(dir, true); }
    }
}
