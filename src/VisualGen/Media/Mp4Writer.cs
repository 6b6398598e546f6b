using System.Diagnostics;
using System.Globalization;

namespace VisualGen.Media;

/// <summary>
/// Writes H.264 MP4 by piping raw rgb24 frames to an ffmpeg process (libx264, yuv420p, +faststart). The file is
/// written under a temporary name in the target folder and renamed into place, so a failure leaves no half file.
/// yuv420p subsamples chroma 2×2, so libx264 needs even sizes: an odd width or height is padded by one column or
/// row repeating the edge pixels (no resampling, no black border; the extra line is hidden in the last macroblock).
/// </summary>
public sealed class Mp4Writer
{
    readonly string? _ffmpegPath;
    readonly string? _searchPath;

    /// <param name="ffmpegPath">The ffmpeg executable; null finds it when writing.</param>
    /// <param name="searchPath">Folders to search for ffmpeg, PATH-style; null uses the PATH environment variable.</param>
    public Mp4Writer(string? ffmpegPath = null, string? searchPath = null)
    {
        _ffmpegPath = ffmpegPath;
        _searchPath = searchPath;
    }

    /// <summary>Why this writer cannot write MP4 here (no ffmpeg where it looks), or null when it can.</summary>
    public string? Unavailable => _ffmpegPath is { } given
        ? (File.Exists(given) ? null : $"the ffmpeg it was given, {given}, does not exist")
        : Ffmpeg.Find(_searchPath) is null ? "ffmpeg was not found on PATH" : null;

    /// <summary>libx264's constant rate factor (lower is better quality; 18 is visually near lossless).</summary>
    public int Crf { get; init; } = 18;

    /// <summary>Encodes <paramref name="frames"/> as H.264; with <paramref name="audioPath"/> (a file ffmpeg reads, such
    /// as a WAV) its sound is muxed in as AAC. A cancelled <paramref name="cancellationToken"/> stops ffmpeg and throws
    /// <see cref="OperationCanceledException"/>, leaving no file.</summary>
    public void Write(string path, IReadOnlyList<RgbImage> frames, double framesPerSecond, Soundtrack? soundtrack,
        CancellationToken cancellationToken = default)
    {
        if (soundtrack is null) { Write(path, frames, framesPerSecond, cancellationToken: cancellationToken); return; }
        // the soundtrack goes in as a temporary WAV beside the target; ffmpeg encodes it to AAC
        var wav = WritableLocation.TempBeside(path, ".wav");
        try
        {
            soundtrack.WriteWav(wav);
            Write(path, frames, framesPerSecond, wav, cancellationToken);
        }
        finally { if (File.Exists(wav)) File.Delete(wav); }
    }

    public void Write(string path, IReadOnlyList<RgbImage> frames, double framesPerSecond, string? audioPath = null,
        CancellationToken cancellationToken = default)
    {
        if (frames.Count == 0) throw new ArgumentException("a video needs at least one frame", nameof(frames));
        if (!(framesPerSecond > 0) || double.IsInfinity(framesPerSecond))
            throw new ArgumentOutOfRangeException(nameof(framesPerSecond), framesPerSecond, "frames per second must be a positive number");
        int w = frames[0].Width, h = frames[0].Height;
        for (int i = 1; i < frames.Count; i++)
            if (frames[i].Width != w || frames[i].Height != h)
                throw new ArgumentException($"frame {i} is {frames[i].Width}x{frames[i].Height}, frame 0 is {w}x{h}");
        var ffmpeg = RequireFfmpeg(path);

        int ew = w + (w & 1), eh = h + (h & 1);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = WritableLocation.TempBeside(path);
        var psi = new ProcessStartInfo(ffmpeg)
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        string[] audioInput = audioPath is null ? [] : ["-i", audioPath];
        string[] audioOutput = audioPath is null ? [] : ["-map", "0:v", "-map", "1:a", "-c:a", "aac"];
        foreach (var a in (string[])
                 [
                     "-hide_banner", "-loglevel", "error", "-y",
                     "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", $"{ew}x{eh}",
                     "-r", framesPerSecond.ToString("R", CultureInfo.InvariantCulture), "-i", "-",   // ffmpeg takes 12.5 or 29.97
                     .. audioInput,
                     "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", Crf.ToString(CultureInfo.InvariantCulture),
                     .. audioOutput,
                     "-movflags", "+faststart", "-f", "mp4", tmp,
                 ])
            psi.ArgumentList.Add(a);

        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var process = Process.Start(psi) ?? throw new MediaException($"{path}: could not start {ffmpeg}");
            // a write blocked on a full pipe ends once ffmpeg is gone (broken pipe)
            using var stop = cancellationToken.Register(() => Stop(process));
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var buffer = new byte[ew * eh * 3];
            string? pipeError = null;
            try
            {
                using var stdin = process.StandardInput.BaseStream;
                foreach (var frame in frames)
                {
                    if (cancellationToken.IsCancellationRequested) break;
                    PadToEven(frame, ew, eh, buffer);
                    stdin.Write(buffer);
                }
            }
            catch (IOException e) { pipeError = e.Message; }   // ffmpeg exited early: its stderr says why
            if (cancellationToken.IsCancellationRequested) Stop(process);   // not left to finish the file it was given part of
            process.WaitForExit();
            cancellationToken.ThrowIfCancellationRequested();   // the temporary file goes (finally)
            string err = stderr.Result.Trim();
            _ = stdout.Result;
            if (process.ExitCode != 0 || pipeError is not null)
                throw new MediaException($"{path}: ffmpeg ({ffmpeg}) failed with exit code {process.ExitCode}: {(err.Length > 0 ? err : pipeError)}");
            File.Move(tmp, path, overwrite: true);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new MediaException($"{path}: could not run {ffmpeg}: {e.Message}. {Ffmpeg.MissingHelp}", e);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    static void Stop(Process process)
    {
        try { process.Kill(); }
        catch (InvalidOperationException) { }   // already exited
    }

    /// <summary>The ffmpeg this writer runs; a <see cref="MediaException"/> for <paramref name="path"/> saying how to
    /// install it when there is none (checked before a generation, so its absence does not waste one).</summary>
    public string RequireFfmpeg(string path)
    {
        var ffmpeg = _ffmpegPath ?? Ffmpeg.Find(_searchPath) ?? throw new MediaException($"{path}: {Ffmpeg.MissingHelp}");
        if (!File.Exists(ffmpeg)) throw new MediaException($"{path}: ffmpeg not found at {ffmpeg}. {Ffmpeg.MissingHelp}");
        return ffmpeg;
    }

    /// <summary>Copies a frame into an even-sized buffer, repeating the last column and row where the size was odd.</summary>
    static void PadToEven(RgbImage f, int ew, int eh, byte[] buffer)
    {
        for (int y = 0; y < eh; y++)
        {
            int sy = Math.Min(y, f.Height - 1);
            f.Pixels.AsSpan(sy * f.Width * 3, f.Width * 3).CopyTo(buffer.AsSpan(y * ew * 3));
            if (ew != f.Width) f.Pixels.AsSpan((sy * f.Width + f.Width - 1) * 3, 3).CopyTo(buffer.AsSpan((y * ew + f.Width) * 3));
        }
    }
}
