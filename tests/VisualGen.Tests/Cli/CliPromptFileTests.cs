using VisualGen.Checkpoints;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>generate --prompt-file: one generation a line with the engines loaded once; prompt i runs at seed + i and
/// equals the single-prompt run with that seed; a bad request on any line is refused before the first runs.</summary>
public class CliPromptFileTests
{
    static string[] Generate(string output, params string[] extra) =>
        ["generate", "--model", Fixtures.Checkpoint("wan21_t2v"), "--height", "32", "--width", "48", "--frames", "5", "--steps", "2",
         "--max-sequence-length", "8", "--engine-cache", ConformancePipelines.CacheDir, "--format", "png", "--output", output, .. extra];

    static float[] Latents(string path)
    {
        using var file = SafeTensorsFile.Open(path);
        return file.ReadFloat32("latents");
    }

    [ConformanceFact]
    public void Each_line_is_a_generation_at_the_next_seed_equal_to_its_single_run()
    {
        string dir = Fixtures.TempDir("prompt-file");
        string file = Path.Combine(dir, "prompts.txt");
        File.WriteAllText(file, "a red fox in the snow\n\n  a lighthouse at night  \r\n");
        var run = CliRun.Of(Generate(Path.Combine(dir, "out"), "--prompt-file", file, "--seed", "40", "--save-tensors", Path.Combine(dir, "t.safetensors")));
        Assert.True(run.Rc == 0, run.Err);
        Assert.Contains("generation 1/2 (seed 40): a red fox in the snow", run.Err);
        Assert.Contains("generation 2/2 (seed 41): a lighthouse at night", run.Err);
        Assert.Equal(5, Directory.GetFiles(Path.Combine(dir, "out_0001"), "*.png").Length);
        Assert.Equal(5, Directory.GetFiles(Path.Combine(dir, "out_0002"), "*.png").Length);

        var single = CliRun.Of(Generate(Path.Combine(dir, "single"), "--prompt", "a lighthouse at night", "--seed", "41",
            "--save-tensors", Path.Combine(dir, "single.safetensors")));
        Assert.True(single.Rc == 0, single.Err);
        Assert.Equal(Latents(Path.Combine(dir, "single.safetensors")), Latents(Path.Combine(dir, "t_0002.safetensors")));
        Assert.NotEqual(Latents(Path.Combine(dir, "t_0001.safetensors")), Latents(Path.Combine(dir, "t_0002.safetensors")));

        // three of one prompt: seeds 7, 8, 9; the third equals the single run at seed 9
        var three = CliRun.Of(Generate(Path.Combine(dir, "n"), "--prompt", "a lighthouse at night", "--num-images-per-prompt", "3", "--seed", "7",
            "--save-tensors", Path.Combine(dir, "n.safetensors")));
        Assert.True(three.Rc == 0, three.Err);
        Assert.Contains("generation 3/3 (seed 9): a lighthouse at night", three.Err);
        Assert.True(Directory.Exists(Path.Combine(dir, "n_0003")));
        var nine = CliRun.Of(Generate(Path.Combine(dir, "nine"), "--prompt", "a lighthouse at night", "--seed", "9",
            "--save-tensors", Path.Combine(dir, "nine.safetensors")));
        Assert.Equal(Latents(Path.Combine(dir, "nine.safetensors")), Latents(Path.Combine(dir, "n_0003.safetensors")));
        Assert.Contains("--num-images-per-prompt must be between 1 and 10000, got 0",
            Assert.Single(CliRun.Of(Generate(Path.Combine(dir, "z"), "--prompt", "x", "--num-images-per-prompt", "0")).ErrorLines));
        // given latents replace the seed, the only thing that differs between a prompt's generations
        var copies = CliRun.Of(Generate(Path.Combine(dir, "l"), "--prompt", "x", "--num-images-per-prompt", "2", "--latents", Path.Combine(dir, "nine.safetensors")));
        Assert.Equal(2, copies.Rc);
        Assert.Contains("--latents with --num-images-per-prompt 2: every generation of a prompt would start from the same latents", Assert.Single(copies.ErrorLines));
        Assert.False(Directory.Exists(Path.Combine(dir, "l_0001")));
    }

    [ConformanceFact]
    public void Numbered_image_outputs_named_by_a_folder_are_refused_before_any_work()
    {
        // "out/" wrote out/_0001.png and out/_0002.png, an existing folder folder_0001.png beside it, where one output is refused
        string dir = Fixtures.TempDir("prompt-file-folder");
        string existing = Directory.CreateDirectory(Path.Combine(dir, "existing")).FullName;
        foreach (var (output, message) in new[]
        {
            (Path.Combine(dir, "out") + Path.DirectorySeparatorChar, "names a folder"),
            (existing, "is a folder"),
        })
        {
            var run = CliRun.Of(["generate", "--model", Fixtures.Checkpoint("flux1"), "--prompt", "a fox", "--height", "32", "--width", "32",
                "--steps", "1", "--num-images-per-prompt", "2", "--engine-cache", ConformancePipelines.CacheDir, "--output", output]);
            Assert.NotEqual(0, run.Rc);
            Assert.Contains($"{output}: {message}; name the file to write", run.Err);
            Assert.DoesNotContain("generation 1/2", run.Err);
        }
        Assert.Equal([existing], Directory.GetFileSystemEntries(dir, "*", SearchOption.AllDirectories));
    }

    [ConformanceFact]
    public void A_seed_whose_later_generations_pass_the_largest_seed_is_refused_not_wrapped()
    {
        // generation k runs at seed + k: the second image of --seed 2^63-1 ran at a wrapped negative seed
        string dir = Fixtures.TempDir("prompt-file-seed");
        var run = CliRun.Of(Generate(Path.Combine(dir, "out"), "--prompt", "x", "--seed", "9223372036854775807", "--num-images-per-prompt", "2"));
        Assert.Equal(2, run.Rc);
        Assert.Contains("--seed 9223372036854775807 with 2 generations: generation k runs at seed + k, so --seed must be at most 9223372036854775806",
            Assert.Single(run.ErrorLines));
        Assert.False(run.Generated);
        string file = Path.Combine(dir, "prompts.txt");
        File.WriteAllText(file, "a fox\na lighthouse\n");
        var lines = CliRun.Of(Generate(Path.Combine(dir, "out"), "--prompt-file", file, "--seed", "9223372036854775806", "--num-images-per-prompt", "2"));
        Assert.Equal(2, lines.Rc);
        Assert.Contains("with 4 generations", Assert.Single(lines.ErrorLines));
    }

    [ConformanceFact]
    public void A_bad_prompt_file_or_a_request_the_model_refuses_is_named_before_anything_runs()
    {
        string dir = Fixtures.TempDir("prompt-file-bad");
        string file = Path.Combine(dir, "prompts.txt");
        // blank lines are skipped: a file of them has no prompt
        File.WriteAllText(file, "\n  \n");
        var empty = CliRun.Of(Generate(Path.Combine(dir, "out"), "--prompt-file", file));
        Assert.Equal(2, empty.Rc);
        Assert.Contains("no prompt in it (one prompt a line)", Assert.Single(empty.ErrorLines));

        File.WriteAllText(file, "a fox\n");
        var both = CliRun.Of(Generate(Path.Combine(dir, "out"), "--prompt-file", file, "--prompt", "x"));
        Assert.Contains("--prompt and --prompt-file both give the prompt; give one", Assert.Single(both.ErrorLines));

        File.WriteAllBytes(file, [0x61, 0xff, 0x0a]);
        var binary = CliRun.Of(Generate(Path.Combine(dir, "out"), "--prompt-file", file));
        Assert.Contains("not UTF-8 text", Assert.Single(binary.ErrorLines));
        Assert.Equal(1, binary.Rc);   // an unreadable input file, as --image's
        var missing = CliRun.Of(Generate(Path.Combine(dir, "out"), "--prompt-file", Path.Combine(dir, "none.txt")));
        Assert.Equal(1, missing.Rc);
        Assert.Contains("none.txt: file not found", Assert.Single(missing.ErrorLines));

        // the request's own refusals name the prompt (every line shares the flags: the first is named)
        File.WriteAllText(file, "a fox\na lighthouse\n");
        var refused = CliRun.Of(Generate(Path.Combine(dir, "out"), "--prompt-file", file, "--strength", "0.5"));
        Assert.Contains("error: strength: --prompt-file prompt 1: WanPipeline takes no strength", Assert.Single(refused.ErrorLines));
        Assert.False(refused.Generated);
        Assert.False(Directory.Exists(Path.Combine(dir, "out_0001")));
    }
}
