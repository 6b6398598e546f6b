using System.Text.Json;
using VisualGen.Checkpoints;

namespace VisualGen.Pipelines.Ltx2.SingleFile;

/// <summary>One block of ltx_core's video VAE block lists (<c>encoder_blocks</c> / <c>decoder_blocks</c> in the
/// metadata's <c>vae</c> config): <c>["res_x", {"num_layers": 5}]</c>, <c>["compress_all", {"residual": true,
/// "multiplier": 2}]</c>...</summary>
public sealed record Ltx2VaeBlock(string Name, int NumLayers, int Multiplier, bool Residual, bool InjectNoise)
{
    /// <summary>A resampling block (compress_time, compress_space, compress_all, and the encoder's *_res forms).</summary>
    public bool Resamples => Name.StartsWith("compress_", StringComparison.Ordinal);

    public bool IsResnets => Name == "res_x";

    /// <summary>diffusers' upsample_type of a decoder resampling block.</summary>
    public string UpsampleType => Name switch
    {
        "compress_time" => "temporal",
        "compress_space" => "spatial",
        "compress_all" => "spatiotemporal",
        _ => throw new InvalidOperationException($"'{Name}' is not a decoder upsampling block"),
    };

    /// <summary>Reads a block list; <paramref name="source"/> and <paramref name="key"/> name it in errors.</summary>
    public static IReadOnlyList<Ltx2VaeBlock> ReadList(string source, string key, JsonElement list)
    {
        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
            throw new CheckpointException(source, $"metadata config vae.{key} must be a non-empty list of [name, params] blocks");
        var blocks = new List<Ltx2VaeBlock>();
        foreach (var entry in list.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Array || entry.GetArrayLength() != 2 || entry[0].ValueKind != JsonValueKind.String)
                throw new CheckpointException(source, $"metadata config vae.{key}[{blocks.Count}]: expected [name, params], found {entry.GetRawText()}");
            string name = entry[0].GetString()!;
            var p = entry[1];
            int Int(string field, int fallback) =>
                p.ValueKind == JsonValueKind.Object && p.TryGetProperty(field, out var v) ? v.GetInt32() : fallback;
            bool Bool(string field) =>
                p.ValueKind == JsonValueKind.Object && p.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.True;
            // ltx_core accepts a bare layer count as the params of res_x
            int layers = p.ValueKind == JsonValueKind.Number ? p.GetInt32() : Int("num_layers", 0);
            blocks.Add(new Ltx2VaeBlock(name, layers, Int("multiplier", 1), Bool("residual"), Bool("inject_noise")));
        }
        return blocks;
    }

    /// <summary>The diffusers module each decoder block becomes (index = position in <c>decoder_blocks</c>): the first
    /// res_x is <c>mid_block</c>; then each upsampler is <c>up_blocks.k.upsamplers.0</c> and the res_x after it is
    /// <c>up_blocks.k</c>. diffusers' conversion writes this table out for LTX-2's four-stage decoder.</summary>
    public static string[] DecoderModules(string source, IReadOnlyList<Ltx2VaeBlock> blocks)
    {
        var modules = new string[blocks.Count];
        int up = -1;
        for (int i = 0; i < blocks.Count; i++)
        {
            var b = blocks[i];
            if (b.Resamples) modules[i] = $"up_blocks.{++up}.upsamplers.0";
            else if (b.IsResnets) modules[i] = up < 0 ? "mid_block" : $"up_blocks.{up}";
            else throw new CheckpointException(source, $"metadata config vae.decoder_blocks[{i}]: block '{b.Name}' is not supported (VisualGen maps res_x and compress_time/space/all)");
            if (b.IsResnets && i > 0 && blocks[i - 1].IsResnets)
                throw new CheckpointException(source, $"metadata config vae.decoder_blocks[{i}]: two res_x blocks in a row have no diffusers counterpart");
        }
        if (!blocks[0].IsResnets) throw new CheckpointException(source, "metadata config vae.decoder_blocks must start with the res_x block diffusers calls mid_block");
        return modules;
    }

    /// <summary>The diffusers module each encoder block becomes: res_x blocks are <c>down_blocks.k</c> and the
    /// downsampler after each <c>down_blocks.k.downsamplers.0</c>; the last res_x is <c>mid_block</c>.</summary>
    public static string[] EncoderModules(string source, IReadOnlyList<Ltx2VaeBlock> blocks)
    {
        var modules = new string[blocks.Count];
        int down = 0;
        for (int i = 0; i < blocks.Count; i++)
        {
            var b = blocks[i];
            if (b.Resamples) modules[i] = $"down_blocks.{down++}.downsamplers.0";
            else if (b.IsResnets) modules[i] = i == blocks.Count - 1 ? "mid_block" : $"down_blocks.{down}";
            else throw new CheckpointException(source, $"metadata config vae.encoder_blocks[{i}]: block '{b.Name}' is not supported (VisualGen maps res_x and compress_*)");
        }
        return modules;
    }
}
