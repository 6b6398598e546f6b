namespace VisualGen.Server.Jobs;

/// <summary>PNGs answered by URL (response_format "url"): data/images/{img_id}.png.</summary>
public sealed class ImageFiles
{
    readonly string _dir;

    public ImageFiles(string dataDir)
    {
        _dir = Path.Combine(dataDir, "images");
        Directory.CreateDirectory(_dir);
    }

    /// <summary>The file of an id the caller has checked with <see cref="JobId.IsValid"/>.</summary>
    public string PathOf(string id) => Path.Combine(_dir, id + ".png");

    public async Task SaveAsync(string id, byte[] png, CancellationToken ct)
    {
        string tmp = Path.Combine(_dir, $"{id}.{Guid.NewGuid():N}.tmp");
        await File.WriteAllBytesAsync(tmp, png, ct);
        File.Move(tmp, PathOf(id));
    }
}
