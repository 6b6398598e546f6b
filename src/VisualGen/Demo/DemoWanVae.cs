using System.Text.Json.Nodes;

namespace VisualGen.Demo;

/// <summary>
/// The demo's AutoencoderKLWan (Wan 2.1 VAE): its config and the parameter tree of diffusers'
/// autoencoder_kl_wan.py (WanEncoder3d, quant_conv, post_quant_conv, WanDecoder3d; non-residual blocks),
/// derived from the config.
/// </summary>
internal sealed record DemoWanVae
{
    public const string ClassName = "AutoencoderKLWan";

    public int BaseDim { get; init; } = 8;
    public int[] DimMult { get; init; } = [1, 2, 2, 2];
    public int NumResBlocks { get; init; } = 1;
    public double[] AttnScales { get; init; } = [];
    public bool[] TemperalDownsample { get; init; } = [false, true, true];
    public int ZDim { get; init; } = 16;
    public int InChannels { get; init; } = 3;
    public int OutChannels { get; init; } = 3;

    /// <summary>Per-channel latent statistics: any fixed values (the weights are random); drawn from the demo seed, rounded to 4 decimals.</summary>
    public (double[] Mean, double[] Std) LatentStatistics(ulong seed)
    {
        var random = DemoRandom.ForStream(seed, "vae/latents");
        var mean = new double[ZDim];
        var std = new double[ZDim];
        for (int i = 0; i < ZDim; i++) mean[i] = Math.Round(random.NextUniform(0, 0.25), 4);
        for (int i = 0; i < ZDim; i++) std[i] = Math.Round(random.NextUniform(1.0, 0.25), 4);
        return (mean, std);
    }

    public JsonObject Config(ulong seed)
    {
        var (mean, std) = LatentStatistics(seed);
        return new JsonObject
        {
            ["_class_name"] = ClassName,
            ["_diffusers_version"] = DemoModel.DiffusersVersion,
            ["attn_scales"] = DemoJson.Array(AttnScales),
            ["base_dim"] = BaseDim,
            ["decoder_base_dim"] = null,
            ["dim_mult"] = DemoJson.Array(DimMult),
            ["dropout"] = 0.0,
            ["in_channels"] = InChannels,
            ["is_residual"] = false,
            ["latents_mean"] = DemoJson.Array(mean),
            ["latents_std"] = DemoJson.Array(std),
            ["num_res_blocks"] = NumResBlocks,
            ["out_channels"] = OutChannels,
            ["patch_size"] = null,
            ["scale_factor_spatial"] = 8,
            ["scale_factor_temporal"] = 4,
            ["temperal_downsample"] = DemoJson.Array(TemperalDownsample),
            ["z_dim"] = ZDim,
        };
    }

    public IReadOnlyList<ParameterSpec> Parameters()
    {
        if (TemperalDownsample.Length != DimMult.Length - 1)
            throw new InvalidOperationException($"demo VAE: temperal_downsample has {TemperalDownsample.Length} entries for {DimMult.Length} levels (expected {DimMult.Length - 1})");
        var p = new ParameterList();
        Encoder(p, "encoder", 2 * ZDim);
        CausalConv(p, "quant_conv", 2 * ZDim, 2 * ZDim, 1);
        CausalConv(p, "post_quant_conv", ZDim, ZDim, 1);
        Decoder(p, "decoder");
        return p.Specs;
    }

    // WanEncoder3d: conv_in, down_blocks (residual blocks, attention at attn_scales, resamplers), mid_block, norm_out, conv_out.
    void Encoder(ParameterList p, string prefix, int zDim)
    {
        int[] dims = [BaseDim, .. DimMult.Select(m => BaseDim * m)];
        CausalConv(p, prefix + ".conv_in", InChannels, dims[0], 3);
        int index = 0;
        double scale = 1.0;
        int outDim = dims[0];
        for (int i = 0; i < DimMult.Length; i++)
        {
            int inDim = dims[i];
            outDim = dims[i + 1];
            for (int r = 0; r < NumResBlocks; r++)
            {
                ResidualBlock(p, $"{prefix}.down_blocks.{index++}", inDim, outDim);
                if (AttnScales.Contains(scale)) AttentionBlock(p, $"{prefix}.down_blocks.{index++}", outDim);
                inDim = outDim;
            }
            if (i != DimMult.Length - 1)
            {
                Downsample(p, $"{prefix}.down_blocks.{index++}", outDim, temporal: TemperalDownsample[i]);
                scale /= 2.0;
            }
        }
        MidBlock(p, prefix + ".mid_block", outDim);
        p.Scale(prefix + ".norm_out.gamma", outDim, 1, 1, 1);
        CausalConv(p, prefix + ".conv_out", outDim, zDim, 3);
    }

    // WanDecoder3d: conv_in, mid_block, up_blocks (num_res_blocks + 1 residual blocks, then an upsampler), norm_out, conv_out.
    void Decoder(ParameterList p, string prefix)
    {
        int[] dims = [BaseDim * DimMult[^1], .. DimMult.Reverse().Select(m => BaseDim * m)];
        bool[] temporalUpsample = [.. TemperalDownsample.Reverse()];
        CausalConv(p, prefix + ".conv_in", ZDim, dims[0], 3);
        MidBlock(p, prefix + ".mid_block", dims[0]);
        int outDim = dims[0];
        for (int i = 0; i < DimMult.Length; i++)
        {
            // After an upsampler the channel count is halved (WanResample's upsample_out_dim = dim // 2).
            int inDim = i > 0 ? dims[i] / 2 : dims[i];
            outDim = dims[i + 1];
            for (int r = 0; r < NumResBlocks + 1; r++)
            {
                ResidualBlock(p, $"{prefix}.up_blocks.{i}.resnets.{r}", inDim, outDim);
                inDim = outDim;
            }
            if (i != DimMult.Length - 1)
            {
                string up = $"{prefix}.up_blocks.{i}.upsamplers.0";
                p.Conv(up + ".resample.1", outDim, outDim / 2, 3, 3);
                if (temporalUpsample[i]) CausalConv(p, up + ".time_conv", outDim, 2 * outDim, 3, 1, 1);
            }
        }
        p.Scale(prefix + ".norm_out.gamma", outDim, 1, 1, 1);
        CausalConv(p, prefix + ".conv_out", outDim, OutChannels, 3);
    }

    // WanCausalConv3d is an nn.Conv3d: a cubic kernel when one size is given.
    static void CausalConv(ParameterList p, string prefix, int inDim, int outDim, params long[] kernel) =>
        p.Conv(prefix, inDim, outDim, kernel.Length == 1 ? [kernel[0], kernel[0], kernel[0]] : kernel);

    // WanResample downsample2d/3d: ZeroPad2d + Conv2d(dim, dim, 3, stride 2); 3d adds time_conv (3, 1, 1) with stride 2 in time.
    static void Downsample(ParameterList p, string prefix, int dim, bool temporal)
    {
        p.Conv(prefix + ".resample.1", dim, dim, 3, 3);
        if (temporal) CausalConv(p, prefix + ".time_conv", dim, dim, 3, 1, 1);
    }

    // WanResidualBlock: RMS norm (gamma [dim, 1, 1, 1]), SiLU, causal conv, twice; 1×1×1 shortcut when channels change.
    static void ResidualBlock(ParameterList p, string prefix, int inDim, int outDim)
    {
        p.Scale(prefix + ".norm1.gamma", inDim, 1, 1, 1);
        CausalConv(p, prefix + ".conv1", inDim, outDim, 3);
        p.Scale(prefix + ".norm2.gamma", outDim, 1, 1, 1);
        CausalConv(p, prefix + ".conv2", outDim, outDim, 3);
        if (inDim != outDim) CausalConv(p, prefix + ".conv_shortcut", inDim, outDim, 1);
    }

    // WanAttentionBlock: single-head attention over each frame; 2D RMS norm (gamma [dim, 1, 1]) and 1×1 Conv2d projections.
    static void AttentionBlock(ParameterList p, string prefix, int dim)
    {
        p.Scale(prefix + ".norm.gamma", dim, 1, 1);
        p.Conv(prefix + ".to_qkv", dim, 3 * dim, 1, 1);
        p.Conv(prefix + ".proj", dim, dim, 1, 1);
    }

    // WanMidBlock with one attention layer: resnets.0, attentions.0, resnets.1.
    static void MidBlock(ParameterList p, string prefix, int dim)
    {
        ResidualBlock(p, prefix + ".resnets.0", dim, dim);
        AttentionBlock(p, prefix + ".attentions.0", dim);
        ResidualBlock(p, prefix + ".resnets.1", dim, dim);
    }
}
