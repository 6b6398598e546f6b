namespace VisualGen.Server.Jobs;

/// <summary>
/// The <see cref="IOutputStore"/> in a folder: videos/{id}.mp4 and inputs/{id}.png, each written to a temporary file and
/// renamed into place, so a reader (this replica or another on a shared file system) sees a whole file or none.
/// </summary>
public sealed class OutputFolder : IOutputStore
{
    readonly string _videosDir, _inputsDir;
    readonly StorageHealth? _health;

    public OutputFolder(string root, StorageHealth? health = null)
    {
        _health = health;
        _videosDir = Path.Combine(root, "videos");
        _inputsDir = Path.Combine(root, "inputs");
        ServerFolder.Create(_videosDir);
        ServerFolder.Create(_inputsDir);
    }

    /// <summary>Removes temporary files a process left (it ended mid-write). Only where no other process writes: a
    /// shared folder keeps them (another replica may be writing one), and they cost only space.</summary>
    public void DeleteTemporaryFiles()
    {
        foreach (var tmp in Directory.EnumerateFiles(_videosDir, "*.tmp")) File.Delete(tmp);
        // the soundtrack WAV Mp4Writer writes beside a temporary MP4 while ffmpeg encodes it (".{name}.{guid}.wav")
        foreach (var wav in Directory.EnumerateFiles(_videosDir, ".*.wav")) File.Delete(wav);
        foreach (var tmp in Directory.EnumerateFiles(_inputsDir, "*.tmp")) File.Delete(tmp);
    }

    public string VideoPath(string id) => Path.Combine(_videosDir, id + ".mp4");

    public string InputPath(string id) => Path.Combine(_inputsDir, id + ".png");

    public string TempVideoPath(string id) => Path.Combine(_videosDir, $"{id}.{Guid.NewGuid():N}.mp4.tmp");

    public void CommitVideo(string id, string tempPath)
    {
        try
        {
            File.Move(tempPath, VideoPath(id), overwrite: true);
        }
        catch (Exception e) when (StorageException.IsStorageFault(e))
        {
            throw Fault(StorageException.Writing($"the video of {id}", e));
        }
    }

    public Stream? OpenVideo(string id)
    {
        try
        {
            return new FileStream(VideoPath(id), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 64 * 1024, FileOptions.Asynchronous);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public void WriteInput(string id, byte[] png)
    {
        string tmp = Path.Combine(_inputsDir, $"{id}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                fs.Write(png);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, InputPath(id), overwrite: true);
        }
        catch (Exception e) when (StorageException.IsStorageFault(e))
        {
            StorageException.DeleteQuietly(tmp);
            throw Fault(StorageException.Writing($"the input reference image of {id}", e));
        }
    }

    public byte[]? ReadInput(string id)
    {
        try
        {
            return File.ReadAllBytes(InputPath(id));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public void DeleteVideo(string id) => StorageException.DeleteQuietly(VideoPath(id));

    public void DeleteFilesOf(string id)
    {
        StorageException.DeleteQuietly(VideoPath(id));
        StorageException.DeleteQuietly(InputPath(id));
    }

    public long BytesOf(string id) => new[] { VideoPath(id), InputPath(id) }.Sum(p => new FileInfo(p) is { Exists: true } f ? f.Length : 0);

    public IEnumerable<string> StoredIds() =>
        Directory.EnumerateFiles(_inputsDir, "*.png").Concat(Directory.EnumerateFiles(_videosDir, "*.mp4"))
            .Select(f => Path.GetFileNameWithoutExtension(f)!).Distinct(StringComparer.Ordinal).ToList();

    public string? VideosProblem() => StorageHealth.Probe(_videosDir);

    /// <summary>Reports a storage fault to /health and returns it to throw.</summary>
    StorageException Fault(StorageException e)
    {
        _health?.Failed(e);
        return e;
    }
}
