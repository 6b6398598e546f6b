namespace VisualGen.Exporter;

/// <summary>The exporter's version: part of every engine cache key, bumped whenever exported graphs change.</summary>
public static class ExporterInfo
{
    public const string Version = "0.2.3";
}
