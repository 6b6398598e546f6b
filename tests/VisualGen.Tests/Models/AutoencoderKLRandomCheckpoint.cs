using System.Text.Json;
using VisualGen.Checkpoints;

namespace VisualGen.Tests.Models;

/// <summary>
/// Writes a small random AutoencoderKL decoder (config.json + safetensors; post_quant_conv when asked, no encoder:
/// the decoder graph ignores it) with the key names of diffusers' module tree, written out here independently of the
/// exporter.
/// </summary>
sealed class AutoencoderKLRandomCheckpoint
{
    public required int[] BlockOutChannels { get; init; }
    public int LatentChannels { get; init; } = 4;
    public int NormNumGroups { get; init; } = 4;
    public int LayersPerBlock { get; init; } = 1;
    public int SampleSize { get; init; } = 32;
    public bool UsePostQuantConv { get; init; } = true;
    /// <summary>Scales the mid-block attention's to_out (1: as the other layers): small values make the decoder nearly
    /// local, as a trained VAE is, where tiles must agree with the whole.</summary>
    public float AttentionOutputScale { get; init; } = 1;

    readonly List<TensorData> _tensors = [];
    Random _rng = new(0);

    public string Write(string dir, int seed)
    {
        _rng = new Random(seed);
        _tensors.Clear();
        Directory.CreateDirectory(dir);
        int[] reversed = [.. BlockOutChannels.Reverse()];
        Conv("decoder.conv_in", LatentChannels, reversed[0], 3);
        Resnet("decoder.mid_block.resnets.0", reversed[0], reversed[0]);
        Norm("decoder.mid_block.attentions.0.group_norm", reversed[0]);
        foreach (var l in new[] { "to_q", "to_k", "to_v" }) Linear($"decoder.mid_block.attentions.0.{l}", reversed[0], reversed[0]);
        Linear("decoder.mid_block.attentions.0.to_out.0", reversed[0], reversed[0], AttentionOutputScale);
        Resnet("decoder.mid_block.resnets.1", reversed[0], reversed[0]);
        int output = reversed[0];
        for (int i = 0; i < reversed.Length; i++)
        {
            int previous = output;
            output = reversed[i];
            for (int j = 0; j <= LayersPerBlock; j++) Resnet($"decoder.up_blocks.{i}.resnets.{j}", j == 0 ? previous : output, output);
            if (i != reversed.Length - 1) Conv($"decoder.up_blocks.{i}.upsamplers.0.conv", output, output, 3);
        }
        Norm("decoder.conv_norm_out", BlockOutChannels[0]);
        Conv("decoder.conv_out", BlockOutChannels[0], 3, 3);
        if (UsePostQuantConv) Conv("post_quant_conv", LatentChannels, LatentChannels, 1);
        SafeTensorsWriter.Write(Path.Combine(dir, "diffusion_pytorch_model.safetensors"), _tensors);
        var config = new Dictionary<string, object?>
        {
            ["_class_name"] = "AutoencoderKL", ["in_channels"] = 3, ["out_channels"] = 3,
            ["down_block_types"] = Enumerable.Repeat("DownEncoderBlock2D", BlockOutChannels.Length).ToArray(),
            ["up_block_types"] = Enumerable.Repeat("UpDecoderBlock2D", BlockOutChannels.Length).ToArray(),
            ["block_out_channels"] = BlockOutChannels, ["layers_per_block"] = LayersPerBlock, ["act_fn"] = "silu",
            ["latent_channels"] = LatentChannels, ["norm_num_groups"] = NormNumGroups, ["sample_size"] = SampleSize,
            ["scaling_factor"] = 0.5, ["use_quant_conv"] = UsePostQuantConv, ["use_post_quant_conv"] = UsePostQuantConv,
            ["mid_block_add_attention"] = true,
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(config));
        return dir;
    }

    void Resnet(string p, int inDim, int outDim)
    {
        Norm(p + ".norm1", inDim);
        Conv(p + ".conv1", inDim, outDim, 3);
        Norm(p + ".norm2", outDim);
        Conv(p + ".conv2", outDim, outDim, 3);
        if (inDim != outDim) Conv(p + ".conv_shortcut", inDim, outDim, 1);
    }

    void Norm(string p, int dim)
    {
        Add(p + ".weight", [dim], 0.2f, 1);
        Add(p + ".bias", [dim], 0.1f, 0);
    }

    void Linear(string p, int inDim, int outDim, float scale = 1)
    {
        Add(p + ".weight", [outDim, inDim], scale * 1.5f / MathF.Sqrt(inDim), 0);
        Add(p + ".bias", [outDim], scale * 0.1f, 0);
    }

    void Conv(string p, int inDim, int outDim, int kernel)
    {
        Add(p + ".weight", [outDim, inDim, kernel, kernel], 1.5f / MathF.Sqrt(inDim * kernel * kernel), 0);
        Add(p + ".bias", [outDim], 0.1f, 0);
    }

    void Add(string name, long[] shape, float spread, float center)
    {
        var v = new float[shape.Aggregate(1L, (a, b) => a * b)];
        for (int i = 0; i < v.Length; i++) v[i] = center + spread * (2 * _rng.NextSingle() - 1);
        _tensors.Add(TensorData.Float32(name, shape, v));
    }
}
