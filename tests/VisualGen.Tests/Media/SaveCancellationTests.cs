using System.Diagnostics;
using VisualGen.Media;
using VisualGen.Pipelines;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Media;

/// <summary>A save cancelled while it writes stops (an MP4's ffmpeg too) with <see cref="OperationCanceledException"/> and
/// leaves nothing behind. SaveAsync read its token only before it began, so a cancelled save wrote on to the end.</summary>
public sealed class SaveCancellationTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("save-cancel");

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>An "ffmpeg" that reads nothing and never ends: the frames fill its pipe and the writer blocks, as it does
    /// behind a real encoder busy with a long video.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    string StuckFfmpeg()
    {
        string bin = Directory.CreateDirectory(Path.Combine(_dir, "bin")).FullName;
        string path = Path.Combine(bin, "ffmpeg");
        File.WriteAllText(path, "#!/bin/sh\nexec sleep 600\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    static GenerationResult Video(int frames, int h, int w) =>
        new(HostTensor.Zeros(1), HostTensor.Float32(new float[frames * h * w * 3], 1, frames, h, w, 3), IsVideo: true, 16);

    [Fact]
    public async Task An_mp4_save_cancelled_while_ffmpeg_encodes_stops_it_and_leaves_no_file()
    {
        if (OperatingSystem.IsWindows()) return;   // the stand-in encoder is a shell script
        var writer = new MediaWriter(new Mp4Writer(StuckFfmpeg()));
        string output = Directory.CreateDirectory(Path.Combine(_dir, "out")).FullName;
        string path = Path.Combine(output, "clip.mp4");
        using var cancel = new CancellationTokenSource();
        // 200 frames of 64×64 (2.4 MB): far more than a pipe holds
        var save = Task.Run(() => writer.Write(Video(200, 64, 64), path, MediaFormat.Mp4, cancel.Token));
        await Task.Delay(300);
        Assert.False(save.IsCompleted, "the save ended before it was cancelled");
        cancel.Cancel();
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => save.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"the save ended {clock.Elapsed.TotalSeconds:F1} s after it was cancelled");
        Assert.Empty(Directory.EnumerateFileSystemEntries(output));   // neither clip.mp4 nor its temporary file
    }

    [Fact]
    public void A_batch_whose_second_image_cannot_be_written_leaves_nothing_behind()
    {
        // the first image stayed, as if the write had worked, while the call failed (cancellation already removed it)
        string output = Directory.CreateDirectory(Path.Combine(_dir, "batch")).FullName;
        Directory.CreateDirectory(Path.Combine(output, "fox_1.png"));   // where the second image goes
        var images = new GenerationResult(HostTensor.Zeros(1), HostTensor.Float32(new float[2 * 4 * 4 * 3], 2, 4, 4, 3), IsVideo: false, 0);
        var e = Assert.Throws<MediaException>(() => new MediaWriter().Write(images, Path.Combine(output, "fox.png"), MediaFormat.Png));
        Assert.Contains("fox_0.png, was removed", e.Message);
        Assert.Equal([Path.Combine(output, "fox_1.png")], Directory.EnumerateFileSystemEntries(output));
    }

    [Fact]
    public async Task SaveAsync_cancelled_before_it_writes_writes_nothing()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        string frames = Path.Combine(_dir, "frames");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Video(3, 8, 8).SaveAsync(frames, MediaFormat.Png, cancel.Token));
        Assert.False(Directory.Exists(frames));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir));
    }

    [Fact]
    public void A_frame_folder_cancelled_part_way_keeps_the_previous_frames_and_no_staging_folder()
    {
        string folder = Path.Combine(_dir, "frames");
        var images = Enumerable.Range(0, 4).Select(_ => new RgbImage(2, 2, new byte[12])).ToList();
        FrameFolderWriter.Write(folder, images.Take(2).ToList());
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => FrameFolderWriter.Write(folder, images, cancel.Token));
        Assert.Equal(2, Directory.GetFiles(folder).Length);
        Assert.Equal([folder], Directory.EnumerateFileSystemEntries(_dir));
    }
}
