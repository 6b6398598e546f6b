using VisualGen.Cli;
using VisualGen.Media;
using VisualGen.Pipelines;
using VisualGen.Tests.Demo;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>
/// One rule for an output path's extension (<see cref="OutputExtension"/>): generate's --output and the library's
/// SaveAsync both take .png and .mp4, default a path without an extension by the media, and refuse any other extension,
/// with or without a format. The CLI wrote the model's default format under the name (PNG bytes in out.jpg) where
/// SaveAsync refused it.
/// </summary>
public class OutputExtensionTests(DemoModelFixture demo) : IClassFixture<DemoModelFixture>
{
    const string Refusal = "is not an extension VisualGen writes; the supported extensions are .png and .mp4";

    [Theory]
    [InlineData("out.jpg", null)]
    [InlineData("out.JPG", "png")]
    [InlineData("clip.webm", "mp4")]
    [InlineData("frames.d", "png")]
    public void Generate_refuses_an_output_extension_it_does_not_write_before_any_work(string name, string? format)
    {
        string folder = Fixtures.TempDir("out"), cache = Fixtures.TempDir("fresh-cache"), output = Path.Combine(folder, name);
        string[] formatFlag = format is null ? [] : ["--format", format];
        var run = CliRun.Of(["generate", "--model", demo.Directory, "--prompt", "a fox", "--height", "32", "--width", "32", "--frames", "5",
            "--steps", "1", "--engine-cache", cache, "--output", output, .. formatFlag]);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Equal($"error: --output {output}: '{Path.GetExtension(name)}' {Refusal} (a path without one gets MP4 for video, PNG for images)",
            Assert.Single(run.ErrorLines));
        Assert.False(run.Generated, run.Err);
        Assert.Empty(Directory.EnumerateFileSystemEntries(cache));    // no engine exported or built
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder));   // nothing written
    }

    [Fact]
    public void A_video_model_asked_for_one_frame_writes_an_image_file()
    {
        // --frames 1 is how Cosmos3 (and Wan) make an image, as /v1/images serves it; the CLI wrote a folder holding
        // frame_0000.png for --output still.png, and a one-frame MP4 with no --output
        string folder = Fixtures.TempDir("out");
        string[] Run(params string[] extra) => ["generate", "--model", demo.Directory, "--prompt", "a fox", "--height", "32", "--width", "32",
            "--steps", "1", .. extra];
        foreach (var (output, written) in new[] { ("still.png", "still.png"), ("still2", "still2.png") })
        {
            var run = CliRun.Of(Run("--frames", "1", "--output", Path.Combine(folder, output)));
            Assert.True(run.Rc == 0, run.Err);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(folder, written))[..4]);
            Assert.False(Directory.Exists(Path.Combine(folder, Path.GetFileNameWithoutExtension(output))));
        }
        // more frames as PNG: a folder of frames, as before
        var clip = CliRun.Of(Run("--frames", "5", "--format", "png", "--output", Path.Combine(folder, "clip")));
        Assert.True(clip.Rc == 0, clip.Err);
        Assert.Equal(5, Directory.GetFiles(Path.Combine(folder, "clip"), "*.png").Length);
    }

    [Fact]
    public void Generate_checks_the_extension_before_the_model_is_read()
    {
        // a missing model is exit 1 once it is read; the extension is a usage error first
        var run = CliRun.Of(["generate", "--model", "/nonexistent/model", "--prompt", "x", "--output", "x.gif"]);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Contains($"--output x.gif: '.gif' {Refusal}", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public void A_path_without_an_extension_gets_the_default_of_the_media_and_png_and_mp4_name_their_formats()
    {
        Assert.Null(OutputExtension.FormatOf("out", Refuse));
        Assert.Null(OutputExtension.FormatOf(Path.Combine("run.v2", "out"), Refuse));   // a dotted folder is no extension
        Assert.Equal(MediaFormat.Png, OutputExtension.FormatOf("out.PNG", Refuse));
        Assert.Equal(MediaFormat.Mp4, OutputExtension.FormatOf("out.mp4", Refuse));
        Assert.Contains($"'.jpeg' {Refusal}", Assert.Throws<InvalidOperationException>(() => OutputExtension.FormatOf("a.jpeg", Refuse)).Message);

        static Exception Refuse(string message) => new InvalidOperationException(message);
    }

    [Theory]
    [InlineData("x.jpg", null, "'.jpg' " + Refusal)]
    [InlineData("x.jpg", MediaFormat.Png, "'.jpg' " + Refusal)]     // a format given wrote PNG bytes into x.jpg
    [InlineData("x.webm", MediaFormat.Mp4, "'.webm' " + Refusal)]
    [InlineData("x.mp4", MediaFormat.Png, "ends in .mp4 but the format is Png")]   // wrote a frame folder 'x' for x.mp4
    [InlineData("x.png", MediaFormat.Mp4, "ends in .png but the format is Mp4")]   // wrote MP4 bytes into x.png
    public async Task SaveAsync_refuses_what_generate_refuses_before_writing(string name, MediaFormat? format, string message)
    {
        string folder = Fixtures.TempDir("out");
        var video = new GenerationResult(Tensors.HostTensor.Float32(new float[2 * 2 * 2 * 3], 1, 2, 2, 2, 3),
            Tensors.HostTensor.Float32(new float[2 * 2 * 2 * 3], 1, 2, 2, 2, 3), true, 16);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => video.SaveAsync(Path.Combine(folder, name), format));
        Assert.Contains(message, e.Message);
        Assert.Equal("path", e.ParamName);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
    }

    [Fact]
    public async Task SaveAsync_gives_a_path_without_an_extension_the_default_and_takes_png_with_png()
    {
        string folder = Fixtures.TempDir("out");
        var image = new GenerationResult(Tensors.HostTensor.Float32(new float[2 * 2 * 3], 1, 2, 2, 3), Tensors.HostTensor.Float32(new float[2 * 2 * 3], 1, 2, 2, 3), false, 0);
        Assert.Equal([Path.Combine(folder, "a.png")], await image.SaveAsync(Path.Combine(folder, "a")));
        Assert.Equal([Path.Combine(folder, "b.png")], await image.SaveAsync(Path.Combine(folder, "b"), MediaFormat.Png));
        Assert.Equal([Path.Combine(folder, "c.PNG")], await image.SaveAsync(Path.Combine(folder, "c.PNG"), MediaFormat.Png));
    }

    [Theory]
    [InlineData(null)]     // the demo makes video: MP4 by default
    [InlineData("mp4")]
    public void Generate_refuses_an_output_that_ends_in_a_separator_for_a_file_before_any_work(string? format)
    {
        // "out/" has no file name: the MP4 was written as the hidden file "out/.mp4"
        string folder = Fixtures.TempDir("out"), cache = Fixtures.TempDir("fresh-cache");
        string output = Path.Combine(folder, "new") + Path.DirectorySeparatorChar;
        string[] formatFlag = format is null ? [] : ["--format", format];
        var run = CliRun.Of(["generate", "--model", demo.Directory, "--prompt", "a fox", "--height", "32", "--width", "32", "--frames", "5",
            "--steps", "1", "--engine-cache", cache, "--output", output, .. formatFlag]);
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.Equal($"error: {output}: names a folder; name the file to write (for example {Path.Combine(output, "output.mp4")})",
            Assert.Single(run.ErrorLines));
        Assert.False(run.Generated, run.Err);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
    }

    [Fact]
    public async Task SaveAsync_refuses_an_image_path_that_ends_in_a_separator_and_writes_png_video_frames_into_it()
    {
        string folder = Fixtures.TempDir("out");
        string target = Path.Combine(folder, "new") + Path.DirectorySeparatorChar;
        var image = new GenerationResult(Tensors.HostTensor.Float32(new float[2 * 2 * 3], 1, 2, 2, 3), Tensors.HostTensor.Float32(new float[2 * 2 * 3], 1, 2, 2, 3), false, 0);
        var e = await Assert.ThrowsAsync<MediaException>(() => image.SaveAsync(target));
        Assert.Contains("names a folder; name the file to write", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder));   // no hidden "new/.png"

        var video = new GenerationResult(Tensors.HostTensor.Float32(new float[2 * 2 * 2 * 3], 1, 2, 2, 2, 3),
            Tensors.HostTensor.Float32(new float[2 * 2 * 2 * 3], 1, 2, 2, 2, 3), true, 16);
        Assert.Equal([Path.Combine(folder, "new")], await video.SaveAsync(target, MediaFormat.Png));
        Assert.Equal(["frame_0000.png", "frame_0001.png"], Directory.GetFiles(Path.Combine(folder, "new")).Select(p => Path.GetFileName(p)).Order().ToArray());
    }
}
