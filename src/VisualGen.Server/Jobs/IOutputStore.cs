namespace VisualGen.Server.Jobs;

/// <summary>
/// Where the files of video jobs live: finished videos and the input reference images of image-to-video jobs. Every
/// replica of a deployment reads the same store, so content is served by any of them. <see cref="OutputFolder"/> is a
/// folder (a network file system shared by the replicas); an S3-compatible store could implement the same calls.
/// Writes and deletes that the store refuses throw a <see cref="StorageException"/>; ids are checked by the caller
/// (<see cref="JobId.IsValid"/>).
/// </summary>
public interface IOutputStore
{
    /// <summary>A local scratch file the encoder writes; <see cref="CommitVideo"/> moves it into the store.</summary>
    string TempVideoPath(string id);

    /// <summary>Moves a finished video into place (replacing an older one).</summary>
    void CommitVideo(string id, string tempPath);

    /// <summary>The stored video, seekable (range requests), or null when there is none.</summary>
    Stream? OpenVideo(string id);

    /// <summary>Stores a job's input reference image, whole or not at all.</summary>
    void WriteInput(string id, byte[] png);

    /// <summary>The stored input reference image, or null when there is none.</summary>
    byte[]? ReadInput(string id);

    /// <summary>Deletes a job's video if it can (a video whose job could not be completed).</summary>
    void DeleteVideo(string id);

    /// <summary>Deletes a job's video and input image if it can; what is left has no job and is removed later.</summary>
    void DeleteFilesOf(string id);

    /// <summary>Bytes of a job's video and input image.</summary>
    long BytesOf(string id);

    /// <summary>Ids that have a video or an input image.</summary>
    IEnumerable<string> StoredIds();

    /// <summary>Null when the video files take a write, else why not (no full paths): tells a failed write apart from a failed encoder.</summary>
    string? VideosProblem();
}
