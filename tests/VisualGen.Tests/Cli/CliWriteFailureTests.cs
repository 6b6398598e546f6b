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
