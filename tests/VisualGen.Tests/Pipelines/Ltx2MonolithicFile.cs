using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using VisualGen.Checkpoints;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Builds a monolithic LTX-2 file as Lightricks ships it from a diffusers LTX-2 folder: every tensor under its
/// original ltx_core key name (the inverse of diffusers' conversion, written here independently of the library's
/// rules), the configs as ltx_core's <c>config</c> metadata, and the text encoder and tokenizer folders copied beside
/// the file. Tensor bytes are copied as stored.
/// </summary>
static partial class Ltx2MonolithicFile
{
    public const string Prefix = "model.diffusion_model.";

    /// <summary>Writes <paramref name="fileName"/> into a new folder and returns its path. <paramref name="drop"/>
    /// leaves out one original key (for missing-tensor tests); <paramref name="edit"/> changes the config metadata.</summary>
    public static string Build(string diffusersDir, string fileName = "ltx-2-test.safetensors", string? drop = null,
        Action<JsonObject>? edit = null)
    {
        string outDir = Support.Fixtures.TempDir("ltx2-mono");
        var tensors = new List<TensorData>();
        var opened = new List<SafeTensorsFile>();
        try
        {
            void AddComponent(string component, Func<string, string> original)
            {
                var file = SafeTensorsFile.Open(Path.Combine(diffusersDir, component, "diffusion_pytorch_model.safetensors"));
                opened.Add(file);
                foreach (var t in file.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
                {
                    string name = original(t.Name);
                    if (name != drop) tensors.Add(new TensorData(name, t.DType, t.Shape, file.GetBytes(t.Name).ToArray()));
                }
            }
            var vae = Config(diffusersDir, "vae");
            int downBlocks = CountDownBlocks(diffusersDir);
            AddComponent("transformer", TransformerKey);
            AddComponent("connectors", ConnectorsKey);
            AddComponent("vae", k => "vae." + VaeKey(k, downBlocks));
            AddComponent("audio_vae", k => "audio_vae." + Statistics(k));
            AddComponent("vocoder", k => "vocoder." + VocoderKey(k));
            // statistics ltx_core stores and diffusers drops
            int latent = vae["latent_channels"]!.GetValue<int>();
            tensors.Add(TensorData.Float32("vae.per_channel_statistics.channel", [latent], [.. Enumerable.Range(0, latent).Select(i => (float)i)]));
            tensors.Add(TensorData.Float32("vae.per_channel_statistics.mean-of-stds", [latent], new float[latent]));

            var config = MetadataConfig(diffusersDir, downBlocks);
            edit?.Invoke(config);
            var metadata = new Dictionary<string, string> { ["config"] = config.ToJsonString(), ["model_version"] = "2.0.0-test" };
            SafeTensorsWriter.Write(Path.Combine(outDir, fileName), tensors, metadata);
        }
        finally { foreach (var f in opened) f.Dispose(); }
        foreach (var folder in new[] { "text_encoder", "tokenizer" })
            CopyFolder(Path.Combine(diffusersDir, folder), Path.Combine(outDir, folder));
        return Path.Combine(outDir, fileName);
    }

    static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }

    static JsonObject Config(string dir, string component) => JsonNode.Parse(File.ReadAllText(Path.Combine(dir, component, "config.json")))!.AsObject();

    static int CountDownBlocks(string dir)
    {
        using var f = SafeTensorsFile.Open(Path.Combine(dir, "vae", "diffusion_pytorch_model.safetensors"));
        return f.Names.Select(n => DownBlock().Match(n)).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value)).Distinct().Count();
    }

    [GeneratedRegex(@"^encoder\.down_blocks\.(\d+)\.")] private static partial Regex DownBlock();
    [GeneratedRegex(@"^decoder\.up_blocks\.(\d+)\.upsamplers\.0\.")] private static partial Regex Upsampler();
    [GeneratedRegex(@"^decoder\.up_blocks\.(\d+)\.")] private static partial Regex UpBlock();
    [GeneratedRegex(@"^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.")] private static partial Regex Downsampler();

    static string Norms(string k) => k.Replace(".norm_q.", ".q_norm.").Replace(".norm_k.", ".k_norm.");

    /// <summary>diffusers transformer name → ltx_core's (under model.diffusion_model.).</summary>
    public static string TransformerKey(string k)
    {
        string[][] starts =
        [
            ["time_embed.", "adaln_single."], ["audio_time_embed.", "audio_adaln_single."],
            ["proj_in.", "patchify_proj."], ["audio_proj_in.", "audio_patchify_proj."],
            ["av_cross_attn_video_scale_shift.", "av_ca_video_scale_shift_adaln_single."],
            ["av_cross_attn_video_a2v_gate.", "av_ca_a2v_gate_adaln_single."],
            ["av_cross_attn_audio_scale_shift.", "av_ca_audio_scale_shift_adaln_single."],
            ["av_cross_attn_audio_v2a_gate.", "av_ca_v2a_gate_adaln_single."],
        ];
        foreach (var s in starts)
            if (k.StartsWith(s[0], StringComparison.Ordinal)) { k = s[1] + k[s[0].Length..]; break; }
        k = k.Replace(".video_a2v_cross_attn_scale_shift_table", ".scale_shift_table_a2v_ca_video")
             .Replace(".audio_a2v_cross_attn_scale_shift_table", ".scale_shift_table_a2v_ca_audio");
        return Prefix + Norms(k);
    }

    /// <summary>diffusers connectors name → ltx_core's; the text projection is stored outside the diffusion model
    /// prefix, as some Lightricks files do.</summary>
    public static string ConnectorsKey(string k)
    {
        if (k.StartsWith("text_proj_in.", StringComparison.Ordinal)) return "text_embedding_projection.aggregate_embed." + k["text_proj_in.".Length..];
        k = k.Replace("video_connector.", "video_embeddings_connector.").Replace("audio_connector.", "audio_embeddings_connector.")
             .Replace(".transformer_blocks.", ".transformer_1d_blocks.");
        return Prefix + Norms(k);
    }

    static string Statistics(string k) => k switch
    {
        "latents_mean" => "per_channel_statistics.mean-of-means",
        "latents_std" => "per_channel_statistics.std-of-means",
        _ => k,
    };

    /// <summary>diffusers video VAE name → ltx_core's: up/down blocks and their resamplers interleave in one list.</summary>
    public static string VaeKey(string k, int downBlocks)
    {
        if (k.StartsWith("decoder.mid_block.", StringComparison.Ordinal)) k = "decoder.up_blocks.0." + k["decoder.mid_block.".Length..];
        else if (Upsampler().Match(k) is { Success: true } u) k = $"decoder.up_blocks.{2 * int.Parse(u.Groups[1].Value) + 1}." + k[u.Length..];
        else if (UpBlock().Match(k) is { Success: true } b) k = $"decoder.up_blocks.{2 * int.Parse(b.Groups[1].Value) + 2}." + k[b.Length..];
        else if (k.StartsWith("encoder.mid_block.", StringComparison.Ordinal)) k = $"encoder.down_blocks.{2 * downBlocks}." + k["encoder.mid_block.".Length..];
        else if (Downsampler().Match(k) is { Success: true } d) k = $"encoder.down_blocks.{2 * int.Parse(d.Groups[1].Value) + 1}." + k[d.Length..];
        else if (DownBlock().Match(k) is { Success: true } e) k = $"encoder.down_blocks.{2 * int.Parse(e.Groups[1].Value)}." + k[e.Length..];
        return Statistics(k.Replace(".resnets.", ".res_blocks."));
    }

    public static string VocoderKey(string k) =>
        k.Replace("upsamplers.", "ups.").Replace("resnets.", "resblocks.").Replace("conv_in.", "conv_pre.").Replace("conv_out.", "conv_post.");

    /// <summary>ltx_core's <c>config</c> metadata for the folder's configs (the inverse of the library's mapping).</summary>
    public static JsonObject MetadataConfig(string dir, int downBlocks)
    {
        var t = Config(dir, "transformer");
        var c = Config(dir, "connectors");
        var v = Config(dir, "vae");
        var a = Config(dir, "audio_vae");
        var o = Config(dir, "vocoder");
        JsonNode? N(JsonObject x, string key) => x[key]?.DeepClone();
        var transformer = new JsonObject
        {
            ["num_attention_heads"] = N(t, "num_attention_heads"), ["attention_head_dim"] = N(t, "attention_head_dim"),
            ["in_channels"] = N(t, "in_channels"), ["out_channels"] = N(t, "out_channels"), ["num_layers"] = N(t, "num_layers"),
            ["cross_attention_dim"] = N(t, "cross_attention_dim"), ["norm_eps"] = N(t, "norm_eps"),
            ["positional_embedding_theta"] = N(t, "rope_theta"),
            ["positional_embedding_max_pos"] = new JsonArray(N(t, "pos_embed_max_pos"), N(t, "base_height"), N(t, "base_width")),
            ["timestep_scale_multiplier"] = N(t, "timestep_scale_multiplier"),
            ["audio_num_attention_heads"] = N(t, "audio_num_attention_heads"), ["audio_attention_head_dim"] = N(t, "audio_attention_head_dim"),
            ["audio_in_channels"] = N(t, "audio_in_channels"), ["audio_out_channels"] = N(t, "audio_out_channels"),
            ["audio_cross_attention_dim"] = N(t, "audio_cross_attention_dim"),
            ["audio_positional_embedding_max_pos"] = new JsonArray(N(t, "audio_pos_embed_max_pos")),
            ["av_ca_timestep_scale_multiplier"] = N(t, "cross_attn_timestep_scale_multiplier"),
            ["rope_type"] = N(t, "rope_type"),
            ["frequencies_precision"] = t["rope_double_precision"]!.GetValue<bool>() ? "float64" : "float32",
            ["apply_gated_attention"] = N(t, "gated_attn"), ["cross_attention_adaln"] = N(t, "cross_attn_mod"),
            ["use_prompt_adaln_single"] = N(t, "use_prompt_adaln_single"), ["ff_bias"] = N(t, "ff_bias"), ["audio_ff_bias"] = N(t, "audio_ff_bias"),
            ["activation_fn"] = "gelu-approximate", ["qk_norm"] = "rms_norm", ["attention_bias"] = N(t, "attention_bias"),
            ["norm_elementwise_affine"] = N(t, "norm_elementwise_affine"), ["positional_embedding_type"] = "rope",
            ["connector_num_attention_heads"] = N(c, "video_connector_num_attention_heads"),
            ["connector_attention_head_dim"] = N(c, "video_connector_attention_head_dim"),
            ["connector_num_layers"] = N(c, "video_connector_num_layers"),
            ["audio_connector_num_attention_heads"] = N(c, "audio_connector_num_attention_heads"),
            ["audio_connector_attention_head_dim"] = N(c, "audio_connector_attention_head_dim"),
            ["audio_connector_num_layers"] = N(c, "audio_connector_num_layers"),
            ["connector_positional_embedding_max_pos"] = new JsonArray(N(c, "connector_rope_base_seq_len")),
            ["connector_apply_gated_attention"] = N(c, "video_gated_attn"),
        };

        int[] Ints(JsonObject x, string key) => [.. x[key]!.AsArray().Select(e => e!.GetValue<int>())];
        int[] dOut = Ints(v, "decoder_block_out_channels"), dLayers = Ints(v, "decoder_layers_per_block"), factors = Ints(v, "upsample_factor");
        bool[] residual = [.. v["upsample_residual"]!.AsArray().Select(e => e!.GetValue<bool>())];
        bool[] noise = [.. v["decoder_inject_noise"]!.AsArray().Select(e => e!.GetValue<bool>())];
        string[] types = [.. v["upsample_type"]!.AsArray().Select(e => e!.GetValue<string>())];
        var decoderBlocks = new JsonArray(new JsonArray("res_x", new JsonObject { ["num_layers"] = dLayers[0], ["inject_noise"] = noise[0] }));
        for (int i = 0; i < dOut.Length; i++)
        {
            string name = types[i] switch { "spatial" => "compress_space", "temporal" => "compress_time", _ => "compress_all" };
            decoderBlocks.Add(new JsonArray(name, new JsonObject { ["multiplier"] = factors[i], ["residual"] = residual[i] }));
            decoderBlocks.Add(new JsonArray("res_x", new JsonObject { ["num_layers"] = dLayers[i + 1], ["inject_noise"] = noise[i + 1] }));
        }
        var encoderBlocks = new JsonArray();
        for (int i = 0; i < downBlocks; i++)
        {
            encoderBlocks.Add(new JsonArray("res_x", new JsonObject { ["num_layers"] = 1 }));
            encoderBlocks.Add(new JsonArray("compress_all_res", new JsonObject { ["multiplier"] = 2 }));
        }
        encoderBlocks.Add(new JsonArray("res_x", new JsonObject { ["num_layers"] = 1 }));
        var vae = new JsonObject
        {
            ["_class_name"] = "CausalVideoAutoencoder", ["dims"] = 3, ["in_channels"] = N(v, "in_channels"), ["out_channels"] = N(v, "out_channels"),
            ["latent_channels"] = N(v, "latent_channels"), ["patch_size"] = N(v, "patch_size"), ["norm_layer"] = "pixel_norm",
            ["causal_decoder"] = N(v, "decoder_causal"), ["timestep_conditioning"] = N(v, "timestep_conditioning"),
            ["spatial_padding_mode"] = N(v, "decoder_spatial_padding_mode"), ["encoder_spatial_padding_mode"] = N(v, "encoder_spatial_padding_mode"),
            // the decoder ends at base channels: the first diffusers block's width over the last upsampler's reduction
            ["decoder_base_channels"] = dOut[0] / factors[^1],
            ["encoder_blocks"] = encoderBlocks, ["decoder_blocks"] = decoderBlocks,
        };
        var audioVae = new JsonObject
        {
            ["model"] = new JsonObject
            {
                ["params"] = new JsonObject
                {
                    ["sampling_rate"] = N(a, "sample_rate"),
                    ["ddconfig"] = new JsonObject
                    {
                        ["ch"] = N(a, "base_channels"), ["out_ch"] = N(a, "output_channels"), ["ch_mult"] = N(a, "ch_mult"),
                        ["num_res_blocks"] = N(a, "num_res_blocks"), ["attn_resolutions"] = N(a, "attn_resolutions"),
                        ["in_channels"] = N(a, "in_channels"), ["resolution"] = N(a, "resolution"), ["z_channels"] = N(a, "latent_channels"),
                        ["norm_type"] = N(a, "norm_type"), ["causality_axis"] = N(a, "causality_axis"), ["dropout"] = N(a, "dropout"),
                        ["mid_block_add_attention"] = N(a, "mid_block_add_attention"), ["mel_bins"] = N(a, "mel_bins"), ["double_z"] = N(a, "double_z"),
                    },
                },
            },
            ["preprocessing"] = new JsonObject { ["stft"] = new JsonObject { ["hop_length"] = N(a, "mel_hop_length"), ["causal"] = N(a, "is_causal") } },
        };
        var vocoder = new JsonObject
        {
            ["resblock"] = "1", ["stereo"] = true, ["upsample_initial_channel"] = N(o, "hidden_channels"),
            ["upsample_kernel_sizes"] = N(o, "upsample_kernel_sizes"), ["upsample_rates"] = N(o, "upsample_factors"),
            ["resblock_kernel_sizes"] = N(o, "resnet_kernel_sizes"), ["resblock_dilation_sizes"] = N(o, "resnet_dilations"),
            ["use_tanh_at_final"] = o["final_act_fn"]?.GetValue<string>() == "tanh", ["use_bias_at_final"] = N(o, "final_bias"),
            ["output_sampling_rate"] = N(o, "output_sampling_rate"),
        };
        return new JsonObject { ["transformer"] = transformer, ["vae"] = vae, ["audio_vae"] = audioVae, ["vocoder"] = vocoder };
    }
}
