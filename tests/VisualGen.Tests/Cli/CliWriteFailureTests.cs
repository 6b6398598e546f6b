using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>
/// Outputs and engine caches that cannot be written are one error line and exit 1, never an unhandled exception.
/// The tests run as root, which may write almost anywhere, so "unwritable" is made in ways that stop root too:
/// a path under a regular file (a file where a folder is expected) stands for a folder without write permission,
/// and a path under /proc (where no file can be created) for a read-only file system.
/// </summary>
public class CliWriteFailureTests
{
    static CliRun Generate(params string[] extra) => CliRun.Of(
        ["generate", "--model", Fixtures.Checkpoint("wan21_t2v"), "--prompt", "a fox", "--height", "32", "--width", "48", "--frames", "5",
         "--steps", "1", .. extra]);

    static string RegularFile()
    {
        string path = Path.Combine(Fixtures.TempDir("file"), "regular-file");
        File.WriteAllText(path, "not a folder");
        return path;
    }

    static void AssertOneLineFailure(CliRun run, string names)
    {
        Assert.Equal(1, run.Rc);
        Assert.Single(run.ErrorLines);
        Assert.Contains(names, run.ErrorLines[0]);
    }

    [Fact]
    public void Save_tensors_naming_a_folder_is_refused_before_generating()
    {
        string model = VisualGen.Demo.DemoModel.EnsureCreated(Path.Combine(Fixtures.TempDir("demo"), "wan"));
        string folder = Fixtures.TempDir("tensors-folder");
        var run = CliRun.Of(["generate", "--model", model, "--prompt", "a fox", "--height", "32", "--width", "32", "--frames", "1",
            "--steps", "1", "--output", Path.Combine(Fixtures.TempDir("out"), "fox.png"), "--save-tensors", folder]);
        AssertOneLineFailure(run, $"--save-tensors {folder}: is a folder; name the safetensors file to write");
        Assert.False(run.Generated, run.Err);
    }

    [Fact]
    public void Save_tensors_ending_in_a_separator_is_refused_before_generating()
    {
        // "tensors/" names no file: the generation ran to its end, then the write failed with .NET's "Could not find a
        // part of the path" (the folder made, nothing in it)
        string model = VisualGen.Demo.DemoModel.EnsureCreated(Path.Combine(Fixtures.TempDir("demo"), "wan"));
        string parent = Fixtures.TempDir("tensors-parent"), target = Path.Combine(parent, "tensors") + Path.DirectorySeparatorChar;
        var run = CliRun.Of(["generate", "--model", model, "--prompt", "a fox", "--height", "32", "--width", "32", "--frames", "1",
            "--steps", "1", "--output", Path.Combine(Fixtures.TempDir("out"), "fox.png"), "--save-tensors", target]);
        AssertOneLineFailure(run, $"--save-tensors {target}: names a folder; name the safetensors file to write");
        Assert.False(run.Generated, run.Err);
        Assert.Empty(Directory.EnumerateFileSystemEntries(parent));
    }

    [Fact]
    public void Quantize_output_ending_in_a_separator_is_refused_before_reading_the_tensors()
    {
        string parent = Fixtures.TempDir("quantized-parent"), target = Path.Combine(parent, "q") + Path.DirectorySeparatorChar;
        var run = CliRun.Of(["quantize", "--tensors", "/nonexistent/w.safetensors", "--scheme", "fp8", "--output", target]);
        AssertOneLineFailure(run, $"--output {target}: names a folder; name the safetensors file to write");
        Assert.Empty(Directory.EnumerateFileSystemEntries(parent));
    }

    [Fact]
    public void Output_naming_an_existing_folder_is_refused_not_written_beside_it()
    {
        // without its extension --output /tmp/x would have become /tmp/x.mp4 next to the folder /tmp/x
        string model = VisualGen.Demo.DemoModel.EnsureCreated(Path.Combine(Fixtures.TempDir("demo"), "wan"));
        string folder = Fixtures.TempDir("out-folder");
        var run = CliRun.Of(["generate", "--model", model, "--prompt", "a fox", "--height", "32", "--width", "32", "--frames", "5",
            "--steps", "1", "--output", folder]);
        AssertOneLineFailure(run, $"{folder}: is a folder; name the file to write (for example {Path.Combine(folder, "output.mp4")})");
        Assert.False(run.Generated, run.Err);
        Assert.False(File.Exists(folder + ".mp4"));
    }

    /// <summary>FLUX.1 (an image model: --output names the PNG file) at a small size.</summary>
    static CliRun GenerateImage(params string[] extra) => CliRun.Of(
        ["generate", "--model", Fixtures.Checkpoint("flux1"), "--prompt", "a lighthouse", "--height", "16", "--width", "16",
         "--steps", "1", "--engine-cache", ConformancePipelines.CacheDir, .. extra]);

    [ConformanceFact]
    public void An_output_name_the_file_system_takes_is_written_however_long()
    {
        // 250 bytes is a valid name, but its temporary name ".NAME.<guid>.tmp" (38 more) was not: the whole generation ran,
        // then the write failed with .NET's "The path ... is too long"
        string dir = Fixtures.TempDir("long-name"), output = Path.Combine(dir, new string('o', 246) + ".png");
        string tensors = Path.Combine(dir, new string('t', 238) + ".safetensors");
        var run = GenerateImage("--output", output, "--save-tensors", tensors);
        Assert.True(run.Rc == 0, run.Err);
        Assert.True(File.Exists(output) && File.Exists(tensors));
        Assert.Equal(2, Directory.EnumerateFileSystemEntries(dir).Count());   // no temporary file left
    }

    [ConformanceTheory]
    [InlineData("--output")]
    [InlineData("--save-tensors")]
    public void A_file_name_longer_than_the_file_system_takes_is_refused_before_generating(string flag)
    {
        string dir = Fixtures.TempDir("too-long-name"), name = new string('n', 300) + (flag == "--output" ? ".png" : ".safetensors");
        string other = flag == "--output" ? "--save-tensors" : "--output", otherName = flag == "--output" ? "t.safetensors" : "fox.png";
        var run = GenerateImage(flag, Path.Combine(dir, name), other, Path.Combine(dir, otherName));
        AssertOneLineFailure(run, $"the file name '{name}' is {name.Length} bytes long, more than the file system takes");
        Assert.False(run.Generated, run.Err);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    [ConformanceTheory]
    [InlineData("fox.png", "fox.png", 1)]
    [InlineData("fox", "fox.png", 1)]          // the writer adds .png
    [InlineData("fox.png", "fox.png", 2)]      // both numbered fox_0001.png, ...
    public void Save_tensors_naming_the_output_file_is_refused_before_generating(string output, string tensors, int perPrompt)
    {
        // the tensors were written, then the image over them: exit 0, "wrote fox.png", and no tensors
        string dir = Fixtures.TempDir("tensors-output");
        var run = GenerateImage("--output", Path.Combine(dir, output), "--save-tensors", Path.Combine(dir, tensors),
            "--num-images-per-prompt", perPrompt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(2, run.Rc);
        Assert.Contains($"--save-tensors {Path.Combine(dir, tensors)} names the file the output is written to", Assert.Single(run.ErrorLines));
        Assert.False(run.Generated, run.Err);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    [ConformanceFact]
    public void Png_frames_under_a_regular_file_are_one_error_line()
    {
        string file = RegularFile();
        var run = Generate("--engine-cache", ConformancePipelines.CacheDir, "--format", "png", "--output", Path.Combine(file, "frames"));
        AssertOneLineFailure(run, $"{file} is a file, not a folder");
    }

    [ConformanceFact]
    public void Png_image_under_a_regular_file_is_one_error_line()
    {
        string file = RegularFile();
        var run = CliRun.Of(["generate", "--model", Fixtures.Checkpoint("flux1"), "--prompt", "a lighthouse", "--height", "64", "--width", "48",
            "--steps", "1", "--engine-cache", ConformancePipelines.CacheDir, "--output", Path.Combine(file, "out.png")]);
        AssertOneLineFailure(run, $"{file} is a file, not a folder");
    }

    [ConformanceTheory]
    [InlineData("mp4", "/proc/visualgen-test-out.mp4")]
    [InlineData("png", "/proc/visualgen-test-frames")]
    public void Output_under_proc_is_one_error_line(string format, string output)
    {
        var run = Generate("--engine-cache", ConformancePipelines.CacheDir, "--format", format, "--output", output);
        AssertOneLineFailure(run, $"{output}: cannot write the output: cannot create files in /proc");
    }

    [ConformanceFact]
    public void Engine_cache_under_proc_is_one_error_line()
    {
        var run = Generate("--engine-cache", "/proc/visualgen-test-cache", "--format", "png", "--output", Path.Combine(Fixtures.TempDir("out"), "o"));
        AssertOneLineFailure(run, "engine cache /proc/visualgen-test-cache: cannot create it: cannot create files in /proc");
    }

    [ConformanceFact]
    public void Engine_cache_under_a_regular_file_is_one_error_line()
    {
        string file = RegularFile();
        var run = Generate("--engine-cache", Path.Combine(file, "cache"), "--format", "png", "--output", Path.Combine(Fixtures.TempDir("out"), "o"));
        AssertOneLineFailure(run, $"{file} is a file, not a folder");
    }

    [ConformanceFact]
    public void Engine_cache_that_is_a_file_is_one_error_line()
    {
        string file = RegularFile();
        var run = Generate("--engine-cache", file, "--format", "png", "--output", Path.Combine(Fixtures.TempDir("out"), "o"));
        AssertOneLineFailure(run, $"engine cache {file}: is a file, not a folder");
    }

    [ConformanceFact]
    public void Save_tensors_under_a_regular_file_is_one_error_line()
    {
        string file = RegularFile();
        var run = Generate("--engine-cache", ConformancePipelines.CacheDir, "--format", "png", "--output", Path.Combine(Fixtures.TempDir("out"), "o"),
            "--save-tensors", Path.Combine(file, "t.safetensors"));
        AssertOneLineFailure(run, $"{file} is a file, not a folder");
        Assert.False(run.Generated);
    }
}
