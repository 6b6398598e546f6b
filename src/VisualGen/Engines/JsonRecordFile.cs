using System.Text.Json;

namespace VisualGen.Engines;

/// <summary>Small JSON records the engine cache keeps beside its entries (key index, weight-hash memo, verification
/// stamps): written to a temporary file in the same folder and renamed, so concurrent readers never see half of one;
/// read back with any I/O or JSON failure reported, never thrown, since a bad record only means "compute it again".</summary>
public static class JsonRecordFile
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>The record at <paramref name="path"/>; null when there is none (<paramref name="problem"/> null) or it
    /// cannot be read (<paramref name="problem"/> is a phrase for after the record's name: "is unreadable (…)", "is empty").</summary>
    public static T? Read<T>(string path, out string? problem) where T : class
    {
        problem = null;
        if (!File.Exists(path)) return null;
        try
        {
            using var fs = File.OpenRead(path);
            var record = JsonSerializer.Deserialize<T>(fs, Json);
            if (record is null) problem = "is empty";
            return record;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            problem = $"is unreadable ({e.Message})";
            return null;
        }
    }

    /// <summary>Writes <paramref name="record"/> to <paramref name="path"/>: a temporary file in its folder, then a rename
    /// over any older record. The folder is created when missing.</summary>
    public static void Write<T>(string path, T record)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        string temp = Path.Combine(dir, $".{Path.GetFileName(path)}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                JsonSerializer.Serialize(fs, record, Json);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            try { if (File.Exists(temp)) File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
