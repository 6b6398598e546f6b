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

    /// <summary>For a folder without model_index.json: "; it holds monolithic model files: pass one as the model: …"
    /// naming the files a format recognises (headers only), or "" when there are none. A folder is not taken as the
    /// model itself: Lightricks' LTX-2 repository keeps several (dev, distilled, fp8) side by side.</summary>
    public static string HintFor(string folder)
    {
        var known = new List<string>();
        foreach (var path in Directory.EnumerateFiles(folder, "*.safetensors").Order(StringComparer.Ordinal))
        {
            try
            {
                using var file = SafeTensorsFile.Open(path);
                if (Formats.Any(f => f.Recognises(file.Metadata))) known.Add(Path.GetFileName(path));
            }
            catch (CheckpointException) { }   // not a readable safetensors file: not a model file either
        }
        return known.Count == 0 ? "" : $"; it holds monolithic model files: pass one of them as the model ({string.Join(", ", known)})";
    }

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
