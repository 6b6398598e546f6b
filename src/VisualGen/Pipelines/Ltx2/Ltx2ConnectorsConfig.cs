using VisualGen.Checkpoints;

namespace VisualGen.Pipelines.Ltx2;

/// <summary>LTX2TextConnectors' config.json (diffusers names and defaults).</summary>
public sealed record Ltx2ConnectorsConfig
{
    public int CaptionChannels { get; init; } = 3840;
    public int TextProjInFactor { get; init; } = 49;
    public int VideoConnectorNumAttentionHeads { get; init; } = 30;
    public int VideoConnectorAttentionHeadDim { get; init; } = 128;
    public int VideoConnectorNumLayers { get; init; } = 2;
    public int? VideoConnectorNumLearnableRegisters { get; init; } = 128;
    public bool VideoGatedAttn { get; init; }
    public int AudioConnectorNumAttentionHeads { get; init; } = 30;
    public int AudioConnectorAttentionHeadDim { get; init; } = 128;
    public int AudioConnectorNumLayers { get; init; } = 2;
    public int? AudioConnectorNumLearnableRegisters { get; init; } = 128;
    public bool AudioGatedAttn { get; init; }
    public int ConnectorRopeBaseSeqLen { get; init; } = 4096;
    public double RopeTheta { get; init; } = 10000.0;
    public bool RopeDoublePrecision { get; init; } = true;
    public bool CausalTemporalPositioning { get; init; }
    public string RopeType { get; init; } = "interleaved";
    public bool PerModalityProjections { get; init; }
    public bool ProjBias { get; init; }

    /// <summary>Reads and checks <c>config.json</c> of a connectors component folder.</summary>
    public static Ltx2ConnectorsConfig Read(string componentDir) => From(ComponentConfig.FromFile(Path.Combine(componentDir, "config.json")));

    /// <summary>Checks a config already read: a folder's config.json or one mapped from a monolithic file's metadata.</summary>
    public static Ltx2ConnectorsConfig From(ComponentConfig config)
    {
        var c = config.ToRecord<Ltx2ConnectorsConfig>();
        config.RequireOneOf("rope_type", "interleaved", "split");
        config.RejectTrue("per_modality_projections");
        return c;
    }
}
