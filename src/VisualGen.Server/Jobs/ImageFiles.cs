namespace VisualGen.Server.Jobs;

/// <summary>PNGs answered by URL (response_format "url"): data/images/{img_id}.png, kept until deleted or expired (retention).</summary>
public sealed class ImageFiles
{
    readonly string _dir;

    readonly StorageHealth? health;

    /// <param name="shared">The folder is shared by replicas: temporary files may be another replica's writes in progress, so they stay.</param>
    public ImageFiles(string dataDir, StorageHealth? health = null, bool shared = false)
    {
        this.health = health;
        _dir = Path.Combine(dataDir, "images");
        ServerFolder.Create(_dir);
        if (!shared)
            foreach (var tmp in Directory.EnumerateFiles(_dir, "*.tmp")) File.Delete(tmp); // a write the last process did not finish
    }

    /// <summary>The file of an id the caller has checked with <see cref="JobId.IsValid"/>.</summary>
    public string PathOf(string id) => Path.Combine(_dir, id + ".png");

    /// <summary>
    /// Stores the images of one request, all or none: each is written to a temporary file, and they are renamed into place
    /// once every one is written. On a failure what this call wrote is deleted (a temporary file the folder will not
    /// delete is removed at the next start; it is never served) and the fault is thrown.
    /// </summary>
    public async Task SaveAllAsync(IReadOnlyList<(string Id, byte[] Png)> images, CancellationToken ct)
    {
        var tmps = new List<string>(images.Count);
        int moved = 0;
        string current = images[0].Id;
        try
        {
            foreach (var (id, png) in images)
            {
                current = id;
                tmps.Add(Path.Combine(_dir, $"{id}.{Guid.NewGuid():N}.tmp"));
                await File.WriteAllBytesAsync(tmps[^1], png, ct);
            }
            for (; moved < images.Count; moved++)
            {
                current = images[moved].Id;
                File.Move(tmps[moved], PathOf(current));
            }
        }
        catch (Exception e)
        {
            for (int i = 0; i < tmps.Count; i++) StorageException.DeleteQuietly(i < moved ? PathOf(images[i].Id) : tmps[i]);
            if (!StorageException.IsStorageFault(e)) throw;
            var fault = StorageException.Writing($"the image {current}", e);
            health?.Failed(fault);
            throw fault;
        }
    }

    /// <summary>Deletes an image; false when there was none.</summary>
    public bool Delete(string id)
    {
        var file = new FileInfo(PathOf(id));
        if (!file.Exists) return false;
        try
        {
            file.Delete();
        }
        catch (Exception e) when (StorageException.IsStorageFault(e))
        {
            throw StorageException.Deleting($"the image {id}", e);
        }
        return true;
    }

    /// <summary>The stored images with their size and write time (files of other names are left alone).</summary>
    public IReadOnlyList<StoredImage> List()
    {
        var list = new List<StoredImage>();
        foreach (var file in new DirectoryInfo(_dir).EnumerateFiles("*.png"))
        {
            string id = Path.GetFileNameWithoutExtension(file.Name);
            if (!JobId.IsValid(id, JobId.ImagePrefix)) continue;
            file.Refresh();
            if (file.Exists) list.Add(new StoredImage(id, file.Length, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero)));
        }
        return list;
    }
}

/// <summary>One image of <see cref="ImageFiles"/>.</summary>
public sealed record StoredImage(string Id, long Bytes, DateTimeOffset WrittenAt);
