using VisualGen.Checkpoints;

namespace VisualGen.Pipelines.Wan;

/// <summary>What the Wan pipelines read from a checkpoint's configs: patching, the VAE's config (latent channels,
/// scales, latent normalization), the A14B expert boundary and TI2V's per-token timesteps.</summary>
public sealed record WanModelConfig
{
    public required int[] PatchSize { get; init; }
    public required WanVaeConfig Vae { get; init; }
    /// <summary>The VAE's latent channels (z_dim): the denoised latents.</summary>
    public int LatentChannels => Vae.ZDim;
    /// <summary>The transformer's input channels: more than the latents when a condition is concatenated (I2V: 16 + 4 + 16).</summary>
    public required int TransformerInChannels { get; init; }
    public required TransformerSize Transformer { get; init; }
    public bool HasImageEncoder { get; init; }
    public bool ImageToVideo => TransformerInChannels > LatentChannels;
    public int VaeScaleSpatial => Vae.ScaleFactorSpatial ?? 8;
    public int VaeScaleTemporal => Vae.ScaleFactorTemporal ?? 4;
    public double? BoundaryRatio { get; init; }
    public bool ExpandTimesteps { get; init; }
    public bool HasTransformer2 { get; init; }
    public int NumTrainTimesteps { get; init; } = 1000;
    /// <summary>The transformer's rotary table length (rope_max_seq_len): patches per axis (frames, height, width) it covers.</summary>
    public int RopeMaxSeqLen { get; init; } = 1024;
    /// <summary>The transformer's blocks (num_layers): what Cache-DiT's Fn and Bn count.</summary>
    public int NumLayers { get; init; }
    /// <summary>The transformer's width (heads × head dim): picks the shipped TeaCache table.</summary>
    public int InnerDim { get; init; }
    /// <summary>pos_embed_seq_len: the image embedder's positions, set on first-last-frame models (two images' CLIP tokens).</summary>
    public int? ImagePositions { get; init; }

    public int SizeMultiple => VaeScaleSpatial * PatchSize[1];

    public static WanModelConfig Load(ModelIndex index)
    {
        // transformer_2 alone is a Wan 2.2 expert pair's low-noise half; a model with neither names the one every Wan has
        string main = !index.HasComponent("transformer") && index.HasComponent("transformer_2") ? "transformer_2" : "transformer";
        var transformer = index.LoadConfig(main);
        var scheduler = index.LoadConfig("scheduler");
        var patch = transformer.GetIntArray("patch_size");
        if (patch.Length != 3 || patch.Any(p => p < 1))
            throw transformer.Unsupported("patch_size", "Wan patchifies (frames, height, width): three sizes of at least 1");
        int rope = transformer.GetInt("rope_max_seq_len", 1024);
        if (rope < 1) throw transformer.Unsupported("rope_max_seq_len", "the rotary table needs at least one position");
        // diffusers' WanPipeline denoises with transformer at timesteps ≥ boundary_ratio × num_train_timesteps and with
        // transformer_2 below; with one of them absent (None) its first step on that side fails. We ran the one
        // transformer throughout instead, with guidance_scale_2 below the boundary. boundary_ratio is the two experts'
        // setting, so it is refused whatever its value (one ≤ 0, which no step crosses, means what null means)
        double? boundary = index.Fields.GetOptionalDouble("boundary_ratio");
        if (boundary is not null && (!index.HasComponent("transformer") || !index.HasComponent("transformer_2")))
            throw new CheckpointException(index.FilePath,
                $"boundary_ratio {boundary.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)} splits the denoising between two experts " +
                $"('transformer' for timesteps ≥ boundary_ratio × num_train_timesteps, 'transformer_2' below), but component " +
                $"'{(index.HasComponent("transformer") ? "transformer_2" : "transformer")}' is absent; a model with one transformer has boundary_ratio null");
        return new WanModelConfig
        {
            PatchSize = patch,
            Vae = WanVaeConfig.Read(index.ComponentDirectory("vae")),
            TransformerInChannels = transformer.GetInt("in_channels"),
            Transformer = TransformerSize.Read(transformer, "ffn_dim"),
            HasImageEncoder = index.HasComponent("image_encoder"),
            BoundaryRatio = boundary,
            ExpandTimesteps = index.Fields.GetBool("expand_timesteps", false),
            HasTransformer2 = index.HasComponent("transformer_2"),
            NumTrainTimesteps = scheduler.GetInt("num_train_timesteps", 1000),
            RopeMaxSeqLen = rope,
            NumLayers = transformer.GetInt("num_layers", 40),   // diffusers' defaults where a config omits them
            InnerDim = transformer.GetInt("num_attention_heads", 40) * transformer.GetInt("attention_head_dim", 128),
            ImagePositions = transformer.GetOptionalInt("pos_embed_seq_len"),
        };
    }
}
