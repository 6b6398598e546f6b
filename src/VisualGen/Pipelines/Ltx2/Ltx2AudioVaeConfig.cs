using VisualGen.Checkpoints;

namespace VisualGen.Pipelines.Ltx2;

/// <summary>AutoencoderKLLTX2Audio's config.json (diffusers names and defaults). Shared by the exporter
/// (architecture) and the runtime (mel bins, sample rate, hop length).</summary>
public sealed record Ltx2AudioVaeConfig
{
    /// <summary>diffusers' LATENT_DOWNSAMPLE_FACTOR: mel frames per latent frame (and mel bins per latent bin).</summary>
    public const int LatentDownsampleFactor = 4;

    public int BaseChannels { get; init; } = 128;
    public int OutputChannels { get; init; } = 2;
    public int[] ChMult { get; init; } = [1, 2, 4];
    public int NumResBlocks { get; init; } = 2;
    public int[]? AttnResolutions { get; init; }
    public int InChannels { get; init; } = 2;
    public int Resolution { get; init; } = 256;
    public int LatentChannels { get; init; } = 8;
    public string NormType { get; init; } = "pixel";
    public string CausalityAxis { get; init; } = "height";
    public bool MidBlockAddAttention { get; init; }
    public int SampleRate { get; init; } = 16000;
    public int MelHopLength { get; init; } = 160;
    public bool IsCausal { get; init; } = true;
    public int? MelBins { get; init; } = 64;

    /// <summary>Reads and checks <c>config.json</c> of an audio VAE component folder.</summary>
    public static Ltx2AudioVaeConfig Read(string componentDir) => From(ComponentConfig.FromFile(Path.Combine(componentDir, "config.json")));

    /// <summary>Checks a config already read: a folder's config.json or one mapped from a monolithic file's metadata.</summary>
    public static Ltx2AudioVaeConfig From(ComponentConfig config)
    {
        string path = config.FilePath;
        var c = config.ToRecord<Ltx2AudioVaeConfig>();
        config.RequireOneOf("norm_type", "pixel", "pixel", "group");
        config.RequireOneOf("causality_axis", "height", "none", "width", "height", "width-compatibility");
        if (c.ChMult.Length < 1) throw new CheckpointException(path, "ch_mult is empty");
        return c;
    }
}
