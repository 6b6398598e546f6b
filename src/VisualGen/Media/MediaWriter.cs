using VisualGen.Pipelines;

namespace VisualGen.Media;

/// <summary>
/// Saves a <see cref="GenerationResult"/>: images as PNG (a batch of n &gt; 1 as name_0.png ... name_{n-1}.png);
/// video as MP4 (name_i.mp4 for a batch) or as a folder of PNG frames (the path without its extension; name_i for
/// a batch). Images round as diffusers' numpy_to_pil; MP4 frames truncate as diffusers' export_to_video.
/// </summary>
public sealed class MediaWriter(Mp4Writer? mp4 = null)
{
    readonly Mp4Writer _mp4 = mp4 ?? new Mp4Writer();

    /// <summary>Saves with a default <see cref="MediaWriter"/> (ffmpeg from PATH).</summary>
    public static IReadOnlyList<string> Save(GenerationResult result, string path, MediaFormat format) =>
        new MediaWriter().Write(result, path, format);

    /// <summary>Refuses a file output (an image, an MP4) whose <paramref name="path"/> is a folder or ends in a separator:
    /// an existing folder named without the extension would get a sibling file "folder.mp4" beside it, a path ending in a
    /// separator ("out/") a hidden file "out/.mp4" inside it, and numbered outputs "folder_0001.mp4" beside it or
    /// "out/_0001.mp4" inside it. PNG frames of a video go into the folder the path names.</summary>
    public static void RefuseFolder(string path, MediaFormat format, bool isVideo)
    {
        if (isVideo && format == MediaFormat.Png) return;
        if (WritableLocation.AsFolder(path) is { } folder)
            throw new MediaException($"{path}: {folder}; name the file to write (for example {Path.Combine(path, "output" + OutputExtension.Of(format))})");
    }

    /// <summary>
    /// Refuses, before a generation, what <see cref="Write"/> would refuse after it: MP4 for an image, a target that
    /// cannot be written (a file where a folder is needed, a folder where the file goes, no write permission, /proc),
    /// and MP4 without ffmpeg. Throws <see cref="MediaException"/> naming the path and the problem.
    /// </summary>
    /// <param name="withAudio">the video has a soundtrack (LTX-2): PNG frames get it beside them as FOLDER.wav.</param>
    public void CheckTarget(string path, MediaFormat format, bool isVideo, bool withAudio = false)
    {
        if (!isVideo && format != MediaFormat.Png) throw new MediaException($"{path}: images are written as PNG, not {format}");
        RefuseFolder(path, format, isVideo);
        string target = TargetOf(path, format, isVideo);   // the frame folder or the file, written beside a temporary one and renamed into place
        if (isVideo && format == MediaFormat.Png)
        {
            string folder = FrameFolder(path, 0, 1);   // as the path gave it (target is its full path)
            if (FrameFolderWriter.Problem(folder) is { } frames) throw new MediaException($"{folder}: {frames}");
            // found after the generation, with the frames already in place: "cannot write WAV: Is a directory"
            if (withAudio && Directory.Exists(folder + ".wav"))
                throw new MediaException($"{folder}.wav: is a folder; the soundtrack is written there beside the PNG frames (choose another --output)");
        }
        else if (Directory.Exists(target)) throw new MediaException($"{target}: is a folder; the output file cannot be written there");
        if (WritableLocation.Problem(Path.GetDirectoryName(target)!, Path.GetFileName(target)) is { } problem)
            throw new MediaException($"{path}: cannot write the output: {problem}");
        if (format == MediaFormat.Mp4) _mp4.RequireFfmpeg(path);
    }

    /// <summary>Writes the result and returns the paths written (files, or frame folders for PNG video). A file-system
    /// failure is a <see cref="MediaException"/> naming the path. A cancelled <paramref name="cancellationToken"/> stops
    /// the writing (between files and frames; ffmpeg is stopped) with <see cref="OperationCanceledException"/>, and what
    /// this call wrote is removed, as it is when a later file of the result cannot be written: every file is written under
    /// a temporary name and renamed into place, so none is half written, and a batch is not left part written either.</summary>
    public IReadOnlyList<string> Write(GenerationResult result, string path, MediaFormat format, CancellationToken cancellationToken = default)
    {
        var written = new List<string>();
        try { return WriteFiles(result, path, format, written, cancellationToken); }
        catch (OperationCanceledException)
        {
            foreach (var done in written) Remove(done);
            throw;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or MediaException)
        {
            // a result is written whole or not at all, as when cancelled: a batch's first images, or PNG frames whose
            // soundtrack then failed, are not left behind as if the write had worked
            foreach (var done in written) Remove(done);
            string message = e is MediaException ? e.Message : $"{path}: cannot write the output: {e.Message}";
            string removed = written.Count == 0 ? "" : $" (what this result had written before it, {string.Join(", ", written.Select(Path.GetFileName))}, was removed)";
            throw new MediaException(message + removed, e);
        }
    }

    static void Remove(string written)
    {
        try
        {
            if (Directory.Exists(written)) Directory.Delete(written, recursive: true);
            else File.Delete(written);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // the cancellation is what the caller hears
    }

    IReadOnlyList<string> WriteFiles(GenerationResult result, string path, MediaFormat format, List<string> written, CancellationToken ct)
    {
        var output = result.Output;
        var shape = output.Shape;
        int rank = result.IsVideo ? 5 : 4;
        if (output.Rank != rank || shape[^1] != 3)
            throw new MediaException(
                $"{path}: output is {output.ShapeText}, expected [batch, {(result.IsVideo ? "frames, " : "")}height, width, 3]");
        int batch = (int)shape[0], frames = result.IsVideo ? (int)shape[1] : 1, h = (int)shape[^3], w = (int)shape[^2];
        var data = output.Floats;
        int frameSize = h * w * 3;

        if (!result.IsVideo)
        {
            if (format != MediaFormat.Png) throw new MediaException($"{path}: images are written as PNG, not {format}");
            for (int b = 0; b < batch; b++)
            {
                ct.ThrowIfCancellationRequested();
                var target = Indexed(path, b, batch, ".png");
                PngWriter.Write(target, RgbImage.FromFloat(data.AsSpan(b * frameSize, frameSize), h, w));
                written.Add(target);
            }
            return written;
        }

        for (int b = 0; b < batch; b++)
        {
            var images = new RgbImage[frames];
            for (int f = 0; f < frames; f++)
            {
                ct.ThrowIfCancellationRequested();
                var span = data.AsSpan((b * frames + f) * frameSize, frameSize);
                images[f] = format == MediaFormat.Mp4 ? RgbImage.FromFloatTruncated(span, h, w) : RgbImage.FromFloat(span, h, w);
            }
            var audio = Soundtrack.Of(result, b);
            if (format == MediaFormat.Mp4)
            {
                var target = Indexed(path, b, batch, ".mp4");
                _mp4.Write(target, images, result.FramesPerSecond, audio, ct);
                written.Add(target);
            }
            else
            {
                var folder = FrameFolder(path, b, batch);
                FrameFolderWriter.Write(folder, images, ct);
                written.Add(folder);
                if (audio is not null)
                {
                    ct.ThrowIfCancellationRequested();
                    // PNG frames carry no sound: the waveform is written as FOLDER.wav beside them
                    audio.WriteWav(folder + ".wav");
                    written.Add(folder + ".wav");
                }
            }
        }
        return written;
    }

    /// <summary>The full path <see cref="Write"/> writes a result of one for <paramref name="path"/>: the file (the format's
    /// extension added where the path has none), or the frame folder of a PNG video.</summary>
    public static string TargetOf(string path, MediaFormat format, bool isVideo) =>
        Path.TrimEndingDirectorySeparator(Path.GetFullPath(isVideo && format == MediaFormat.Png ? FrameFolder(path, 0, 1) : Indexed(path, 0, 1, OutputExtension.Of(format))));

    /// <summary>The frame folder of a PNG video: the path without its extension (name_i for a larger batch).</summary>
    static string FrameFolder(string path, int index, int count)
    {
        var folder = Path.Combine(Path.GetDirectoryName(path) ?? "", Path.GetFileNameWithoutExtension(path));
        return count > 1 ? folder + $"_{index}" : folder;
    }

    /// <summary>path for a batch of one; name_i.ext for a larger batch (the extension defaults to <paramref name="ext"/>).</summary>
    static string Indexed(string path, int index, int count, string ext)
    {
        var e = Path.GetExtension(path);
        if (e.Length == 0) { e = ext; path += ext; }
        if (count == 1) return path;
        return Path.Combine(Path.GetDirectoryName(path) ?? "", $"{Path.GetFileNameWithoutExtension(path)}_{index}{e}");
    }
}
