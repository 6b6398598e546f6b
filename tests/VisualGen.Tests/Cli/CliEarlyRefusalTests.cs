using VisualGen.Cli;
using VisualGen.Media;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>
/// What can be checked is checked before the prompt is encoded: each refusal comes with no pipeline stage started and
/// an empty engine cache (no engine was traced or built), where before the whole generation ran first.
/// </summary>
public class CliEarlyRefusalTests
{
    static (CliRun Run, string Cache) Generate(string family, CliEnvironment? environment, params string[] extra)
    {
        string cache = Fixtures.TempDir("fresh-cache");
        var run = CliRun.Of(["generate", "--model", Fixtures.Checkpoint(family), "--prompt", "a fox", "--height", "32", "--width", "48",
            "--frames", "5", "--steps", "1", "--engine-cache", cache, .. extra], environment);
        return (run, cache);
    }

    static void AssertNothingGenerated(CliRun run, string cache)
    {
        Assert.False(run.Generated, run.Err);
        Assert.Empty(Directory.EnumerateFileSystemEntries(cache));
    }

    [ConformanceFact]
    public void Missing_ffmpeg_for_mp4_is_refused_before_generating()
    {
        string emptyPath = Fixtures.TempDir("no-ffmpeg");   // a PATH with no ffmpeg on it
        var (run, cache) = Generate("wan21_t2v", new CliEnvironment { FfmpegSearchPath = emptyPath },
            "--output", Path.Combine(Fixtures.TempDir("out"), "fox.mp4"));
        Assert.Equal(1, run.Rc);
        Assert.Contains("ffmpeg was not found on PATH", Assert.Single(run.ErrorLines));
        Assert.Contains("--format png", run.ErrorLines[0]);
        AssertNothingGenerated(run, cache);
    }

    [Fact]
    public void A_truncated_weight_file_is_refused_before_the_prompt_is_encoded()
    {
        // the VAE's weights were read only at decode, after the whole denoising loop
        string model = VisualGen.Demo.DemoModel.EnsureCreated(Path.Combine(Fixtures.TempDir("demo"), "wan"));
        string vae = Directory.GetFiles(Path.Combine(model, "vae"), "*.safetensors").Single();
        using (var f = File.OpenWrite(vae)) f.SetLength(1000);
        string cache = Fixtures.TempDir("fresh-cache");
        var run = CliRun.Of(["generate", "--model", model, "--prompt", "a fox", "--height", "32", "--width", "32", "--frames", "5",
            "--steps", "1", "--engine-cache", cache, "--format", "png", "--output", Path.Combine(Fixtures.TempDir("out"), "o")]);
        Assert.Equal(1, run.Rc);
        Assert.Contains($"{vae}: header length", Assert.Single(run.ErrorLines));
        Assert.Contains("runs past the end of the file (1000 bytes)", run.ErrorLines[0]);
        Assert.DoesNotContain("encode", run.Err);
        AssertNothingGenerated(run, cache);
    }

    [ConformanceFact]
    public void Unwritable_output_is_refused_before_generating()
    {
        string file = Path.Combine(Fixtures.TempDir("file"), "regular-file");   // a file where the output folder should be
        File.WriteAllText(file, "x");
        var (run, cache) = Generate("wan21_t2v", null, "--format", "png", "--output", Path.Combine(file, "frames"));
        Assert.Equal(1, run.Rc);
        AssertNothingGenerated(run, cache);
    }

    [ConformanceFact]
    public void Image_given_to_text_to_video_is_refused_before_it_is_decoded()
    {
        // a file no decoder reads: were it decoded first, the error would be about the image, not the pipeline
        string image = Path.Combine(Fixtures.TempDir("img"), "photo.png");
        File.WriteAllBytes(image, "definitely not an image"u8.ToArray());
        var (run, cache) = Generate("wan21_t2v", null, "--format", "png", "--output", Path.Combine(Fixtures.TempDir("out"), "o"), "--image", image);
        Assert.Equal(2, run.Rc);
        Assert.Contains("WanPipeline is text-to-video and takes no image", Assert.Single(run.ErrorLines));
        AssertNothingGenerated(run, cache);
    }

    [ConformanceFact]
    public void Ffmpeg_is_not_needed_when_png_is_asked_for()
    {
        string emptyPath = Fixtures.TempDir("no-ffmpeg");
        string output = Path.Combine(Fixtures.TempDir("out"), "frames");
        var run = CliRun.Of(["generate", "--model", Fixtures.Checkpoint("wan21_t2v"), "--prompt", "a fox", "--height", "32", "--width", "48",
            "--frames", "5", "--steps", "1", "--engine-cache", Pipelines.ConformancePipelines.CacheDir, "--format", "png", "--output", output],
            new CliEnvironment { FfmpegSearchPath = emptyPath });
        Assert.True(run.Rc == 0, run.Err);
        Assert.True(File.Exists(Path.Combine(output, FrameFolderWriter.FrameName(4))));
    }
}
