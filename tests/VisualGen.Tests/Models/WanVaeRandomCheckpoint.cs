using System.Text.Json;
using VisualGen.Checkpoints;

namespace VisualGen.Tests.Models;

/// <summary>
/// Writes a small random AutoencoderKLWan checkpoint folder (config.json + safetensors) for a config of our choosing.
/// The key list is written out here from diffusers' module tree, independently of the exporter, so
/// <c>Weights</c>' missing/unused-key checks also test the exporter's naming.
/// </summary>
sealed class WanVaeRandomCheckpoint
{
    public required int BaseDim { get; init; }
    public int? DecoderBaseDim { get; init; }
    public required int ZDim { get; init; }
    public required int[] DimMult { get; init; }
    public required int NumResBlocks { get; init; }
    public required bool[] TemperalDownsample { get; init; }
    public bool IsResidual { get; init; }
    public int? PatchSize { get; init; }
    /// <summary>Scales the mid-block attentions' output projection (1: as the other convolutions): small values make the
    /// decoder nearly local, as a trained VAE is, where tiles must agree with the whole.</summary>
    public float AttentionOutputScale { get; init; } = 1;

    readonly List<TensorData> _tensors = [];
    Random _rng = new(0);

    int P2 => (PatchSize ?? 1) * (PatchSize ?? 1);

    public string Write(string dir, int seed)
    {
        _rng = new Random(seed);
        _tensors.Clear();
        Directory.CreateDirectory(dir);
        Encoder();
        Decoder();
        Conv("quant_conv", ZDim * 2, ZDim * 2, [1, 1, 1]);
        Conv("post_quant_conv", ZDim, ZDim, [1, 1, 1]);
        SafeTensorsWriter.Write(Path.Combine(dir, "diffusion_pytorch_model.safetensors"), _tensors);
        var config = new Dictionary<string, object?>
        {
            ["_class_name"] = "AutoencoderKLWan", ["attn_scales"] = Array.Empty<float>(), ["base_dim"] = BaseDim,
            ["decoder_base_dim"] = DecoderBaseDim, ["dim_mult"] = DimMult, ["dropout"] = 0.0, ["in_channels"] = 3 * P2,
            ["is_residual"] = IsResidual, ["latents_mean"] = Enumerable.Range(0, ZDim).Select(i => 0.1f * i - 0.3f).ToArray(),
            ["latents_std"] = Enumerable.Range(0, ZDim).Select(i => 0.5f + 0.2f * i).ToArray(), ["num_res_blocks"] = NumResBlocks,
            ["out_channels"] = 3 * P2, ["patch_size"] = PatchSize, ["temperal_downsample"] = TemperalDownsample, ["z_dim"] = ZDim,
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(config));
        return dir;
    }

    void Encoder()
    {
        int[] dims = [BaseDim, .. DimMult.Select(u => BaseDim * u)];
        Conv("encoder.conv_in", 3 * P2, dims[0], [3, 3, 3]);
        int k = 0, last = DimMult.Length - 1;
        for (int i = 0; i <= last; i++)
        {
            int inDim = dims[i], outDim = dims[i + 1];
            if (IsResidual)
            {
                for (int j = 0; j < NumResBlocks; j++) { Resnet($"encoder.down_blocks.{i}.resnets.{j}", inDim, outDim); inDim = outDim; }
                if (i != last) Resample($"encoder.down_blocks.{i}.downsampler", outDim, outDim, TemperalDownsample[i] ? outDim : 0);
                continue;
            }
            for (int j = 0; j < NumResBlocks; j++) { Resnet($"encoder.down_blocks.{k++}", inDim, outDim); inDim = outDim; }
            if (i != last) Resample($"encoder.down_blocks.{k++}", outDim, outDim, TemperalDownsample[i] ? outDim : 0);
        }
        Mid("encoder.mid_block", dims[^1]);
        Gamma("encoder.norm_out", dims[^1], 4);
        Conv("encoder.conv_out", dims[^1], ZDim * 2, [3, 3, 3]);
    }

    void Decoder()
    {
        int dim = DecoderBaseDim ?? BaseDim;
        int[] dims = [dim * DimMult[^1], .. DimMult.Reverse().Select(u => dim * u)];
        bool[] up = [.. TemperalDownsample.Reverse()];
        Conv("decoder.conv_in", ZDim, dims[0], [3, 3, 3]);
        Mid("decoder.mid_block", dims[0]);
        int last = DimMult.Length - 1;
        for (int i = 0; i <= last; i++)
        {
            int inDim = dims[i], outDim = dims[i + 1];
            if (i > 0 && !IsResidual) inDim /= 2;
            for (int j = 0; j <= NumResBlocks; j++) { Resnet($"decoder.up_blocks.{i}.resnets.{j}", inDim, outDim); inDim = outDim; }
            if (i == last) continue;
            string name = IsResidual ? $"decoder.up_blocks.{i}.upsampler" : $"decoder.up_blocks.{i}.upsamplers.0";
            Resample(name, outDim, IsResidual ? outDim : outDim / 2, up[i] ? outDim * 2 : 0);
        }
        Gamma("decoder.norm_out", dims[^1], 4);
        Conv("decoder.conv_out", dims[^1], 3 * P2, [3, 3, 3]);
    }

    void Resnet(string p, int inDim, int outDim)
    {
        Gamma(p + ".norm1", inDim, 4);
        Conv(p + ".conv1", inDim, outDim, [3, 3, 3]);
        Gamma(p + ".norm2", outDim, 4);
        Conv(p + ".conv2", outDim, outDim, [3, 3, 3]);
        if (inDim != outDim) Conv(p + ".conv_shortcut", inDim, outDim, [1, 1, 1]);
    }

    void Mid(string p, int dim)
    {
        Resnet(p + ".resnets.0", dim, dim);
        Gamma(p + ".attentions.0.norm", dim, 3);
        Conv(p + ".attentions.0.to_qkv", dim, dim * 3, [1, 1]);
        Conv(p + ".attentions.0.proj", dim, dim, [1, 1], AttentionOutputScale);
        Resnet(p + ".resnets.1", dim, dim);
    }

    /// <summary>resample.1 (a 3×3 Conv2d) and, when <paramref name="timeConvOut"/> &gt; 0, a (3, 1, 1) time_conv.</summary>
    void Resample(string p, int dim, int outDim, int timeConvOut)
    {
        Conv(p + ".resample.1", dim, outDim, [3, 3]);
        if (timeConvOut > 0) Conv(p + ".time_conv", dim, timeConvOut, [3, 1, 1]);
    }

    void Conv(string p, int inDim, int outDim, long[] kernel, float scale = 1)
    {
        long fanIn = inDim * kernel.Aggregate(1L, (a, b) => a * b);
        float bound = 1.5f / MathF.Sqrt(fanIn);
        Add(p + ".weight", [outDim, inDim, .. kernel], scale * bound, 0);
        Add(p + ".bias", [outDim], scale * 0.1f, 0);
    }

    void Gamma(string p, int dim, int rank) => Add(p + ".gamma", [dim, .. Enumerable.Repeat(1L, rank - 1)], 0.2f, 1);

    void Add(string name, long[] shape, float spread, float center)
    {
        var v = new float[shape.Aggregate(1L, (a, b) => a * b)];
        for (int i = 0; i < v.Length; i++) v[i] = center + spread * (2 * _rng.NextSingle() - 1);
        _tensors.Add(TensorData.Float32(name, shape, v));
    }
}
