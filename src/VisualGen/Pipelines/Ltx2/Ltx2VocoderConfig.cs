using VisualGen.Checkpoints;

namespace VisualGen.Pipelines.Ltx2;

/// <summary>LTX2Vocoder's config.json (diffusers names and defaults). Shared by the exporter (architecture) and the
/// runtime (output sampling rate).</summary>
public sealed record Ltx2VocoderConfig
{
    public int InChannels { get; init; } = 128;
    public int HiddenChannels { get; init; } = 1024;
    public int OutChannels { get; init; } = 2;
    public int[] UpsampleKernelSizes { get; init; } = [16, 15, 8, 4, 4];
    public int[] UpsampleFactors { get; init; } = [6, 5, 2, 2, 2];
    public int[] ResnetKernelSizes { get; init; } = [3, 7, 11];
    public string ActFn { get; init; } = "leaky_relu";
    public float LeakyReluNegativeSlope { get; init; } = 0.1f;
    public bool Antialias { get; init; }
    public string? FinalActFn { get; init; } = "tanh";
    public bool FinalBias { get; init; } = true;
    public int OutputSamplingRate { get; init; } = 24000;

    /// <summary>resnet_dilations: one list of dilations per resnet kernel size (a nested list, read separately).</summary>
    public int[][] ResnetDilations { get; private init; } = [[1, 3, 5], [1, 3, 5], [1, 3, 5]];

    /// <summary>Waveform samples per mel frame: the product of the upsample factors.</summary>
    public int TotalUpsampleFactor => UpsampleFactors.Aggregate(1, (a, f) => a * f);

    /// <summary>Reads and checks <c>config.json</c> of a vocoder component folder.</summary>
    public static Ltx2VocoderConfig Read(string componentDir) => From(ComponentConfig.FromFile(Path.Combine(componentDir, "config.json")));

    /// <summary>Checks a config already read: a folder's config.json or one mapped from a monolithic file's metadata.</summary>
    public static Ltx2VocoderConfig From(ComponentConfig config)
    {
        string path = config.FilePath;
        var c = config.ToRecord<Ltx2VocoderConfig>();
        if (config.Has("resnet_dilations"))
        {
            var dilations = config.Root.GetProperty("resnet_dilations");
            if (dilations.ValueKind != System.Text.Json.JsonValueKind.Array || dilations.EnumerateArray().Any(d => d.ValueKind != System.Text.Json.JsonValueKind.Array))
                throw new CheckpointException(path, "resnet_dilations must be a list of lists of integers");
            c = c with { ResnetDilations = dilations.EnumerateArray().Select(d => d.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToArray() };
        }
        config.RequireOneOf("act_fn", "leaky_relu", "leaky_relu");
        config.RejectTrue("antialias");
        if (c.FinalActFn is not (null or "tanh" or "clamp")) throw config.Unsupported("final_act_fn", "supported: tanh, clamp, null");
        if (c.UpsampleKernelSizes.Length != c.UpsampleFactors.Length)
            throw new CheckpointException(path, $"upsample_kernel_sizes has {c.UpsampleKernelSizes.Length} entries and upsample_factors {c.UpsampleFactors.Length}; they must match");
        if (c.ResnetKernelSizes.Length != c.ResnetDilations.Length)
            throw new CheckpointException(path, $"resnet_kernel_sizes has {c.ResnetKernelSizes.Length} entries and resnet_dilations {c.ResnetDilations.Length}; they must match");
        return c;
    }
}
