using VisualGen.Pipelines.Ltx2.SingleFile;

namespace VisualGen.Checkpoints;

/// <summary>
/// The monolithic safetensors formats VisualGen reads as a model (today LTX-2's), each recognised by its header
/// metadata alone. <see cref="ModelIndex.Load"/> opens a file through this table; the pipeline registry's file
/// detectors name the pipeline class.
/// </summary>
public static class SingleFileModels
{
    /// <summary>A format: whether a file's metadata is its, and how to open such a file as a model.</summary>
    public sealed record Format(string Name, Func<IReadOnlyDictionary<string, string>, bool> Recognises, Func<string, SafeTensorsFile, ModelIndex> Open);

    public static IReadOnlyList<Format> Formats { get; } =
    [
        new("LTX-2 (Lightricks' monolithic checkpoint)", Ltx2FileMetadata.Describes, Ltx2SingleFile.Open),
    ];

    /// <summary>Opens a monolithic model file; an error names the file and what its metadata holds when no format knows it.</summary>
    public static ModelIndex Open(string path)
    {
        if (!path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            throw new CheckpointException(path, "expected a diffusers model folder or a monolithic .safetensors file");
        using var file = SafeTensorsFile.Open(path);
        var format = Formats.FirstOrDefault(f => f.Recognises(file.Metadata))
            ?? throw new CheckpointException(path, $"no monolithic model format VisualGen knows ({string.Join(", ", Formats.Select(f => f.Name))}) matches this file's metadata ({Ltx2FileMetadata.Found(file.Metadata)})");
        return format.Open(path, file);
    }
}
