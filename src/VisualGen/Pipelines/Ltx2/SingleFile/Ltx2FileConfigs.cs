using System.Text.Json;
using System.Text.Json.Nodes;
using VisualGen.Checkpoints;

namespace VisualGen.Pipelines.Ltx2.SingleFile;

/// <summary>
/// The diffusers configs of the components inside a monolithic LTX-2 file, mapped from its metadata the way ltx_core's
/// configurators read it (their defaults where a key is absent) onto the diffusers fields VisualGen's loaders read.
/// What the metadata cannot say comes from elsewhere, as in diffusers' conversion: the text widths from the Gemma 3
/// config beside the file, the learnable registers' count from the header's tensor shapes, the RoPE scale factors
/// and patch sizes LTX-2 fixes. Settings ltx_core has that VisualGen does not run are errors naming file and key.
/// </summary>
public sealed class Ltx2FileConfigs(Ltx2FileMetadata metadata, SafeTensorsFile header, int gemmaHiddenSize, int gemmaLayers)
{
    string Source(string section) => $"{metadata.FilePath} (metadata config.{section})";

    CheckpointException Unsupported(string section, string key, JsonElement value, string why) =>
        new(metadata.FilePath, $"metadata config.{section}.{key} = {value.GetRawText()} is not supported ({why})");

    static JsonElement? Get(JsonElement o, string key) =>
        o.ValueKind == JsonValueKind.Object && o.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    static int Int(JsonElement o, string key, int fallback) => Get(o, key)?.GetInt32() ?? fallback;
    static double Dbl(JsonElement o, string key, double fallback) => Get(o, key)?.GetDouble() ?? fallback;
    static bool Bool(JsonElement o, string key, bool fallback) => Get(o, key) is { } v ? v.GetBoolean() : fallback;
    static string Str(JsonElement o, string key, string fallback) => Get(o, key)?.GetString() ?? fallback;
    static int[] Ints(JsonElement o, string key, int[] fallback) => Get(o, key) is { } v ? [.. v.EnumerateArray().Select(e => e.GetInt32())] : fallback;
    static JsonElement Obj(JsonElement o, string key) => Get(o, key) is { ValueKind: JsonValueKind.Object } v ? v : default;

    void Require(string section, JsonElement o, string key, string expected)
    {
        if (Get(o, key) is { } v && (v.ValueKind != JsonValueKind.String || v.GetString() != expected))
            throw Unsupported(section, key, v, $"VisualGen runs {expected}");
    }

    void RequireFalse(string section, JsonElement o, string key)
    {
        if (Get(o, key) is { ValueKind: JsonValueKind.True } v) throw Unsupported(section, key, v, "VisualGen runs false");
    }

    ComponentConfig Config(string section, JsonObject json) => ComponentConfig.FromElement(Source(section), JsonSerializer.SerializeToElement(json));

    /// <summary>LTX2VideoTransformer3DModel's config (ltx_core's LTXModelConfigurator).</summary>
    public ComponentConfig Transformer()
    {
        var t = metadata.Transformer;
        Require("transformer", t, "activation_fn", "gelu-approximate");
        Require("transformer", t, "qk_norm", "rms_norm");
        Require("transformer", t, "positional_embedding_type", "rope");
        // LTX-2.3 and later project captions in the text encoder and use other connectors and vocoders
        RequireFalse("transformer", t, "caption_proj_before_connector");
        int[] maxPos = Ints(t, "positional_embedding_max_pos", [20, 2048, 2048]);
        if (maxPos.Length != 3) throw Unsupported("transformer", "positional_embedding_max_pos", Get(t, "positional_embedding_max_pos")!.Value, "three entries (frames, height, width) expected");
        var audio = AudioVaeSettings();
        bool gated = Bool(t, "apply_gated_attention", false), crossMod = Bool(t, "cross_attention_adaln", false);
        return Config("transformer", new JsonObject
        {
            ["_class_name"] = "LTX2VideoTransformer3DModel",
            ["in_channels"] = Int(t, "in_channels", 128),
            ["out_channels"] = Int(t, "out_channels", 128),
            ["patch_size"] = 1,
            ["patch_size_t"] = 1,
            ["num_attention_heads"] = Int(t, "num_attention_heads", 32),
            ["attention_head_dim"] = Int(t, "attention_head_dim", 128),
            ["cross_attention_dim"] = Int(t, "cross_attention_dim", 4096),
            // the RoPE coordinates' scale factors: ltx_core's fixed (8, 32, 32), as diffusers' conversion writes them
            ["vae_scale_factors"] = new JsonArray(8, 32, 32),
            ["pos_embed_max_pos"] = maxPos[0],
            ["base_height"] = maxPos[1],
            ["base_width"] = maxPos[2],
            ["gated_attn"] = gated,
            ["cross_attn_mod"] = crossMod,
            ["audio_in_channels"] = Int(t, "audio_in_channels", 128),
            ["audio_out_channels"] = Int(t, "audio_out_channels", 128),
            ["audio_patch_size"] = 1,
            ["audio_patch_size_t"] = 1,
            ["audio_num_attention_heads"] = Int(t, "audio_num_attention_heads", 32),
            ["audio_attention_head_dim"] = Int(t, "audio_attention_head_dim", 64),
            ["audio_cross_attention_dim"] = Int(t, "audio_cross_attention_dim", 2048),
            ["audio_scale_factor"] = Ltx2AudioVaeConfig.LatentDownsampleFactor,
            ["audio_pos_embed_max_pos"] = Ints(t, "audio_positional_embedding_max_pos", [20])[0],
            ["audio_sampling_rate"] = audio.SampleRate,
            ["audio_hop_length"] = audio.HopLength,
            ["audio_gated_attn"] = gated,
            ["audio_cross_attn_mod"] = crossMod,
            ["num_layers"] = Int(t, "num_layers", 48),
            ["activation_fn"] = "gelu-approximate",
            ["qk_norm"] = "rms_norm_across_heads",
            ["norm_elementwise_affine"] = Bool(t, "norm_elementwise_affine", false),
            ["norm_eps"] = Dbl(t, "norm_eps", 1e-6),
            ["caption_channels"] = gemmaHiddenSize,
            ["attention_bias"] = Bool(t, "attention_bias", true),
            ["attention_out_bias"] = Bool(t, "attention_bias", true),
            ["rope_theta"] = Dbl(t, "positional_embedding_theta", 10000.0),
            ["rope_double_precision"] = Str(t, "frequencies_precision", "") == "float64",
            ["causal_offset"] = 1,
            ["timestep_scale_multiplier"] = Dbl(t, "timestep_scale_multiplier", 1000),
            ["cross_attn_timestep_scale_multiplier"] = Dbl(t, "av_ca_timestep_scale_multiplier", 1),
            ["rope_type"] = Str(t, "rope_type", "split"),
            ["use_prompt_embeddings"] = true,
            ["perturbed_attn"] = false,
            ["ff_bias"] = Bool(t, "ff_bias", true),
            ["audio_ff_bias"] = Bool(t, "audio_ff_bias", true),
            ["use_prompt_adaln_single"] = Bool(t, "use_prompt_adaln_single", true),
            ["use_keyframes_abs_pos_embedding"] = Bool(t, "use_keyframes_abs_pos_embedding", false),
        });
    }

    /// <summary>LTX2TextConnectors' config (ltx_core's Embeddings1DConnectorConfigurator and its audio twin read the
    /// transformer section; the projection's widths come from Gemma: hidden size × (layers + 1)).</summary>
    public ComponentConfig Connectors()
    {
        var t = metadata.Transformer;
        RequireFalse("transformer", t, "caption_proj_before_connector");
        if (Get(t, "connector_ff_bias") is { ValueKind: JsonValueKind.False } bias) throw Unsupported("transformer", "connector_ff_bias", bias, "the connectors' feed-forward has biases in LTX-2");
        int heads = Int(t, "connector_num_attention_heads", 30), headDim = Int(t, "connector_attention_head_dim", 128), layers = Int(t, "connector_num_layers", 2);
        bool gated = Bool(t, "connector_apply_gated_attention", false);
        return Config("transformer", new JsonObject
        {
            ["_class_name"] = "LTX2TextConnectors",
            ["caption_channels"] = gemmaHiddenSize,
            ["text_proj_in_factor"] = gemmaLayers + 1,
            ["video_connector_num_attention_heads"] = heads,
            ["video_connector_attention_head_dim"] = headDim,
            ["video_connector_num_layers"] = layers,
            ["video_connector_num_learnable_registers"] = Registers("video_embeddings_connector"),
            ["video_gated_attn"] = gated,
            ["audio_connector_num_attention_heads"] = Int(t, "audio_connector_num_attention_heads", heads),
            ["audio_connector_attention_head_dim"] = Int(t, "audio_connector_attention_head_dim", headDim),
            ["audio_connector_num_layers"] = Int(t, "audio_connector_num_layers", layers),
            ["audio_connector_num_learnable_registers"] = Registers("audio_embeddings_connector"),
            ["audio_gated_attn"] = gated,
            ["connector_rope_base_seq_len"] = Ints(t, "connector_positional_embedding_max_pos", [1])[0],
            // ltx_core's connectors take the RoPE default theta, not the transformer's
            ["rope_theta"] = 10000.0,
            ["rope_double_precision"] = Str(t, "frequencies_precision", "") == "float64",
            ["causal_temporal_positioning"] = false,
            ["rope_type"] = Str(t, "rope_type", "split"),
            ["per_modality_projections"] = false,
            ["proj_bias"] = false,
        });
    }

    /// <summary>The connector's learnable registers: their count is the stored tensor's first dimension (header only);
    /// null where the file has none.</summary>
    JsonNode? Registers(string connector)
    {
        string name = $"model.diffusion_model.{connector}.learnable_registers";
        return header.TryGetInfo(name, out var info) ? JsonValue.Create(info.Shape[0]) : null;
    }

    /// <summary>AutoencoderKLLTX2Video's config: the decoder from ltx_core's <c>decoder_blocks</c> list (the encoder is
    /// not exported, so only its block list's module names are used, by <see cref="Ltx2KeyRules"/>).</summary>
    public ComponentConfig VideoVae(IReadOnlyList<Ltx2VaeBlock> decoderBlocks)
    {
        var v = metadata.Vae;
        Require("vae", v, "_class_name", "CausalVideoAutoencoder");
        Require("vae", v, "norm_layer", "pixel_norm");
        if (Int(v, "dims", 3) != 3) throw Unsupported("vae", "dims", Get(v, "dims")!.Value, "VisualGen runs the 3-D VAE");
        int baseChannels = Int(v, "decoder_base_channels", 128);
        int channels = baseChannels * decoderBlocks.Where(b => b.Resamples).Aggregate(1, (a, b) => a * b.Multiplier);
        var blockChannels = new List<int>();
        var layers = new JsonArray();
        var noise = new JsonArray();
        var types = new JsonArray();
        var factors = new JsonArray();
        var residual = new JsonArray();
        foreach (var b in decoderBlocks)
        {
            if (b.Resamples)
            {
                blockChannels.Add(channels);
                types.Add(b.UpsampleType);
                factors.Add(b.Multiplier);
                residual.Add(b.Residual);
                channels /= b.Multiplier;
            }
            else
            {
                layers.Add(b.NumLayers);
                noise.Add(b.InjectNoise);
            }
        }
        blockChannels.Reverse();
        return Config("vae", new JsonObject
        {
            ["_class_name"] = "AutoencoderKLLTX2Video",
            ["in_channels"] = Int(v, "in_channels", 3),
            ["out_channels"] = Int(v, "out_channels", 3),
            ["latent_channels"] = Int(v, "latent_channels", 128),
            ["decoder_block_out_channels"] = new JsonArray([.. blockChannels.Select(c => (JsonNode)c)]),
            ["decoder_layers_per_block"] = layers,
            ["decoder_spatio_temporal_scaling"] = new JsonArray([.. blockChannels.Select(_ => (JsonNode)true)]),
            ["decoder_inject_noise"] = noise,
            ["upsample_type"] = types,
            ["upsample_residual"] = residual,
            ["upsample_factor"] = factors,
            // ltx_core's default is true: a file that does not say gets the timestep-conditioned decoder
            ["timestep_conditioning"] = Bool(v, "timestep_conditioning", true),
            ["patch_size"] = Int(v, "patch_size", 4),
            ["patch_size_t"] = 1,
            ["resnet_norm_eps"] = 1e-6,
            ["scaling_factor"] = 1.0,
            ["decoder_causal"] = Bool(v, "causal_decoder", false),
            ["decoder_spatial_padding_mode"] = Str(v, "spatial_padding_mode", "reflect"),
            ["encoder_spatial_padding_mode"] = Str(v, "encoder_spatial_padding_mode", "zeros"),
        });
    }

    record AudioSettings(JsonElement DdConfig, int SampleRate, int HopLength, bool IsCausal, int? MelBins);

    AudioSettings AudioVaeSettings()
    {
        var a = metadata.AudioVae;
        var dd = Obj(Obj(Obj(a, "model"), "params"), "ddconfig");
        var pre = Obj(a, "preprocessing");
        var stft = Obj(pre, "stft");
        int? mel = Get(dd, "mel_bins")?.GetInt32() ?? Get(Obj(pre, "mel"), "n_mel_channels")?.GetInt32() ?? Get(Obj(a, "variables"), "mel_bins")?.GetInt32();
        return new AudioSettings(dd, Int(Obj(Obj(a, "model"), "params"), "sampling_rate", 16000), Int(stft, "hop_length", 160), Bool(stft, "causal", true), mel);
    }

    /// <summary>AutoencoderKLLTX2Audio's config (ltx_core's AudioDecoderConfigurator: model.params.ddconfig and the
    /// preprocessing settings).</summary>
    public ComponentConfig AudioVae()
    {
        var s = AudioVaeSettings();
        var dd = s.DdConfig;
        if (s.MelBins is null) throw new CheckpointException(metadata.FilePath, "metadata config.audio_vae names no mel bin count (model.params.ddconfig.mel_bins, preprocessing.mel.n_mel_channels or variables.mel_bins)");
        return Config("audio_vae", new JsonObject
        {
            ["_class_name"] = "AutoencoderKLLTX2Audio",
            ["base_channels"] = Int(dd, "ch", 128),
            ["output_channels"] = Int(dd, "out_ch", 2),
            ["ch_mult"] = new JsonArray([.. Ints(dd, "ch_mult", [1, 2, 4]).Select(c => (JsonNode)c)]),
            ["num_res_blocks"] = Int(dd, "num_res_blocks", 2),
            // ltx_core: ddconfig.get("attn_resolutions", {8, 16, 32}) — an explicit null is None, absence the default
            ["attn_resolutions"] = dd.ValueKind == JsonValueKind.Object && dd.TryGetProperty("attn_resolutions", out var att)
                ? JsonNode.Parse(att.GetRawText()) : new JsonArray(8, 16, 32),
            ["in_channels"] = Int(dd, "in_channels", 2),
            ["resolution"] = Int(dd, "resolution", 256),
            ["latent_channels"] = Int(dd, "z_channels", 8),
            ["norm_type"] = Str(dd, "norm_type", "pixel"),
            ["causality_axis"] = Str(dd, "causality_axis", "height"),
            ["dropout"] = Dbl(dd, "dropout", 0.0),
            ["mid_block_add_attention"] = Bool(dd, "mid_block_add_attention", true),
            ["sample_rate"] = s.SampleRate,
            ["mel_hop_length"] = s.HopLength,
            ["is_causal"] = s.IsCausal,
            ["mel_bins"] = s.MelBins,
            ["double_z"] = Bool(dd, "double_z", true),
        });
    }

    /// <summary>LTX2Vocoder's config (ltx_core's VocoderConfigurator, flat LTX-2 form; the LTX-2.3 vocoder with
    /// bandwidth extension is refused). Its input is the stereo mel: 2 × the audio VAE's mel bins (ltx_core fixes 128).</summary>
    public ComponentConfig Vocoder()
    {
        var c = metadata.Vocoder;
        if (Get(c, "bwe") is { } bwe) throw Unsupported("vocoder", "bwe", bwe, "the LTX-2.3 vocoder with bandwidth extension is not implemented");
        Require("vocoder", c, "resblock", "1");
        int mel = AudioVaeSettings().MelBins ?? throw new CheckpointException(metadata.FilePath, "metadata config.audio_vae names no mel bin count, which the vocoder's input width is made from");
        JsonNode dilations = Get(c, "resblock_dilation_sizes") is { } d ? JsonNode.Parse(d.GetRawText())!
            : new JsonArray(new JsonArray(1, 3, 5), new JsonArray(1, 3, 5), new JsonArray(1, 3, 5));
        static JsonArray Arr(int[] v) => new([.. v.Select(x => (JsonNode)x)]);
        return Config("vocoder", new JsonObject
        {
            ["_class_name"] = "LTX2Vocoder",
            ["in_channels"] = 2 * mel,
            ["hidden_channels"] = Int(c, "upsample_initial_channel", 1024),
            ["out_channels"] = 2,
            ["upsample_kernel_sizes"] = Arr(Ints(c, "upsample_kernel_sizes", [16, 15, 8, 4, 4])),
            ["upsample_factors"] = Arr(Ints(c, "upsample_rates", [6, 5, 2, 2, 2])),
            ["resnet_kernel_sizes"] = Arr(Ints(c, "resblock_kernel_sizes", [3, 7, 11])),
            ["resnet_dilations"] = dilations,
            // resblock "1" is HiFi-GAN's: leaky ReLU with slope 0.1 between convolutions
            ["act_fn"] = "leaky_relu",
            ["leaky_relu_negative_slope"] = 0.1,
            ["antialias"] = false,
            ["final_act_fn"] = Bool(c, "use_tanh_at_final", true) ? "tanh" : "clamp",
            ["final_bias"] = Bool(c, "use_bias_at_final", true),
            ["output_sampling_rate"] = Int(c, "output_sampling_rate", 24000),
        });
    }

    /// <summary>The scheduler diffusers' conversion saves with the pipeline: dynamic exponential shifting with a
    /// terminal shift for the dev model; fixed sigmas for a distilled one (told by its file name, as the conversion does).</summary>
    public ComponentConfig Scheduler()
    {
        bool distilled = Path.GetFileName(metadata.FilePath).Contains("distilled", StringComparison.OrdinalIgnoreCase);
        return ComponentConfig.FromElement($"{metadata.FilePath} (scheduler of diffusers' LTX-2 conversion)", JsonSerializer.SerializeToElement(new JsonObject
        {
            ["_class_name"] = "FlowMatchEulerDiscreteScheduler",
            ["num_train_timesteps"] = 1000,
            ["shift"] = 1.0,
            ["use_dynamic_shifting"] = !distilled,
            ["base_shift"] = 0.95,
            ["max_shift"] = 2.05,
            ["base_image_seq_len"] = 1024,
            ["max_image_seq_len"] = 4096,
            ["shift_terminal"] = distilled ? null : 0.1,
            ["time_shift_type"] = "exponential",
        }));
    }
}
