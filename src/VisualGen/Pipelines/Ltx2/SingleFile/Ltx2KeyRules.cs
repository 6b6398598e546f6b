using VisualGen.Checkpoints;

namespace VisualGen.Pipelines.Ltx2.SingleFile;

/// <summary>Every occurrence of <paramref name="From"/> in a key becomes <paramref name="To"/>; a component's rules
/// apply in table order, each to the result of the one before (as diffusers' conversion applies its rename dicts).</summary>
public sealed record KeyRename(string From, string To);

/// <summary>
/// How the original (ltx_core / ComfyUI) key names of a monolithic LTX-2 file become the diffusers names VisualGen's
/// exporter reads: which prefix each component's keys carry, the renames of diffusers' LTX-2 conversion
/// (scripts/convert_ltx2_to_diffusers.py and single_file_utils.convert_ltx2_*), and the keys it drops. The video VAE's
/// block indices depend on the file's block lists, so its renames are made from them (<see cref="Ltx2VaeBlocks"/>).
/// </summary>
public static class Ltx2KeyRules
{
    const string DiffusionModel = "model.diffusion_model.";

    /// <summary>Keys under the diffusion model prefix that belong to the text connectors, not the transformer.</summary>
    static readonly string[] ConnectorStarts = ["video_embeddings_connector", "audio_embeddings_connector", "text_embedding_projection"];

    static readonly KeyRename[] Transformer =
    [
        new("patchify_proj", "proj_in"),
        new("audio_patchify_proj", "audio_proj_in"),
        new("av_ca_video_scale_shift_adaln_single", "av_cross_attn_video_scale_shift"),
        new("av_ca_a2v_gate_adaln_single", "av_cross_attn_video_a2v_gate"),
        new("av_ca_audio_scale_shift_adaln_single", "av_cross_attn_audio_scale_shift"),
        new("av_ca_v2a_gate_adaln_single", "av_cross_attn_audio_v2a_gate"),
        new("scale_shift_table_a2v_ca_video", "video_a2v_cross_attn_scale_shift_table"),
        new("scale_shift_table_a2v_ca_audio", "audio_a2v_cross_attn_scale_shift_table"),
        new("q_norm", "norm_q"),
        new("k_norm", "norm_k"),
    ];

    /// <summary>The timestep embedders: whole leading module names, renamed after <see cref="Transformer"/> (their
    /// names are substrings of the av_ca_* modulation names above).</summary>
    static readonly KeyRename[] TransformerTimeEmbeds =
    [
        new("adaln_single.", "time_embed."),
        new("audio_adaln_single.", "audio_time_embed."),
    ];

    static readonly KeyRename[] Connectors =
    [
        new("video_embeddings_connector", "video_connector"),
        new("audio_embeddings_connector", "audio_connector"),
        new("transformer_1d_blocks", "transformer_blocks"),
        new("text_embedding_projection.aggregate_embed", "text_proj_in"),
        new("q_norm", "norm_q"),
        new("k_norm", "norm_k"),
    ];

    static readonly KeyRename[] LatentStatistics =
    [
        new("per_channel_statistics.mean-of-means", "latents_mean"),
        new("per_channel_statistics.std-of-means", "latents_std"),
    ];

    /// <summary>Statistics the video VAE stores that diffusers does not load.</summary>
    static readonly string[] VaeDropped = ["per_channel_statistics.channel", "per_channel_statistics.mean-of-stds"];

    static readonly KeyRename[] Vocoder =
    [
        new("ups", "upsamplers"),
        new("resblocks", "resnets"),
        new("conv_pre", "conv_in"),
        new("conv_post", "conv_out"),
    ];

    static string Apply(string key, IEnumerable<KeyRename> rules)
    {
        foreach (var r in rules) key = key.Replace(r.From, r.To, StringComparison.Ordinal);
        return key;
    }

    /// <summary>The video VAE's renames for this file: block indices from its block lists, then res_blocks → resnets
    /// and the latent statistics.</summary>
    public static KeyRename[] VideoVae(string[] encoderModules, string[] decoderModules)
    {
        // original and diffusers indices overlap ("up_blocks.2" → "up_blocks.0"), so each original block is matched
        // with its trailing dot and goes through a placeholder no original key holds
        var rules = new List<KeyRename>();
        var finish = new List<KeyRename>();
        void Add(string part, string kind, string[] modules)
        {
            for (int i = 0; i < modules.Length; i++)
            {
                string placeholder = $"{part}.\u0001{i}\u0001.";
                rules.Add(new($"{part}.{kind}.{i}.", placeholder));
                finish.Add(new(placeholder, $"{part}.{modules[i]}."));
            }
        }
        Add("encoder", "down_blocks", encoderModules);
        Add("decoder", "up_blocks", decoderModules);
        return [.. rules, .. finish, new("res_blocks", "resnets"), .. LatentStatistics];
    }

    /// <summary>
    /// Maps every stored key of the file to its component and diffusers name: component → (diffusers name → stored
    /// name). Keys of no component VisualGen loads (duration head, upsamplers shipped alongside) are left out. Two
    /// stored keys that map to one name are an error naming both.
    /// </summary>
    public static Dictionary<string, Dictionary<string, string>> Map(string file, IEnumerable<string> storedNames, KeyRename[] videoVae)
    {
        var result = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal)
        {
            ["transformer"] = new(StringComparer.Ordinal), ["connectors"] = new(StringComparer.Ordinal),
            ["vae"] = new(StringComparer.Ordinal), ["audio_vae"] = new(StringComparer.Ordinal), ["vocoder"] = new(StringComparer.Ordinal),
        };
        foreach (var stored in storedNames)
        {
            if (MapOne(stored, videoVae) is not var (component, name)) continue;
            var names = result[component];
            if (!names.TryAdd(name, stored))
                throw new CheckpointException(file, $"{component}: keys '{names[name]}' and '{stored}' both map to '{name}'");
        }
        return result;
    }

    /// <summary>The component and diffusers name of one stored key; null for keys no component loads.</summary>
    public static (string Component, string Name)? MapOne(string stored, KeyRename[] videoVae)
    {
        if (stored.StartsWith(DiffusionModel, StringComparison.Ordinal))
        {
            string key = stored[DiffusionModel.Length..];
            if (ConnectorStarts.Any(s => key.StartsWith(s, StringComparison.Ordinal))) return ("connectors", Apply(key, Connectors));
            key = Apply(key, Transformer);
            foreach (var r in TransformerTimeEmbeds)
                if (key.StartsWith(r.From, StringComparison.Ordinal)) key = r.To + key[r.From.Length..];
            return ("transformer", key);
        }
        // some files keep the text projection outside the diffusion model prefix (diffusers' conversion reads both)
        if (stored.StartsWith("text_embedding_projection.", StringComparison.Ordinal)) return ("connectors", Apply(stored, Connectors));
        if (stored.StartsWith("vae.", StringComparison.Ordinal))
        {
            string key = stored["vae.".Length..];
            return VaeDropped.Any(d => key.Contains(d, StringComparison.Ordinal)) ? null : ("vae", Apply(key, videoVae));
        }
        if (stored.StartsWith("audio_vae.", StringComparison.Ordinal)) return ("audio_vae", Apply(stored["audio_vae.".Length..], LatentStatistics));
        if (stored.StartsWith("vocoder.", StringComparison.Ordinal)) return ("vocoder", Apply(stored["vocoder.".Length..], Vocoder));
        return null;
    }
}
