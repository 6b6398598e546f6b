using System.Text;
using VisualGen.Exporter.Commands;
using VisualGen.Pipelines;

namespace VisualGen.Cli;

/// <summary>
/// <c>generate --prompt-file FILE</c>: one prompt a line (UTF-8; blank lines skipped), each generated in turn with the
/// engines loaded once; <c>--num-images-per-prompt N</c> makes N of each. Generation k (from 0, prompt-major) runs with
/// seed <c>--seed</c> + k, so its output equals <c>generate --prompt LINE --seed SEED+k</c>; its output is the --output
/// path numbered <c>_0001</c>, <c>_0002</c>, ...
/// </summary>
static class PromptFile
{
    /// <summary>The prompts of --prompt-file, or null without one.</summary>
    public static IReadOnlyList<string>? Read(CommandLine cl)
    {
        if (cl.String("prompt-file") is not { } path) return null;
        if (cl.Has("prompt")) throw new UsageException("--prompt and --prompt-file both give the prompt; give one");
        // missing or unreadable: a failed input (exit 1, as --image's); no prompt in it: a usage matter (exit 2)
        if (Directory.Exists(path)) throw new IOException($"--prompt-file {path}: is a folder; name a text file");
        if (!File.Exists(path)) throw new FileNotFoundException($"--prompt-file {path}: file not found");
        string text;
        try { text = File.ReadAllText(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true)); }
        catch (DecoderFallbackException) { throw new IOException($"--prompt-file {path}: not UTF-8 text"); }
        var prompts = text.ReplaceLineEndings("\n").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        if (prompts.Count == 0) throw new UsageException($"--prompt-file {path}: no prompt in it (one prompt a line)");
        return prompts;
    }

    /// <summary>Refuses a --seed whose last generation's seed + k would pass 2^63-1 (it wrapped to a negative seed).</summary>
    public static void CheckSeeds(long? seed, int count)
    {
        if (!SeedSequence.Fits(seed, count))
            throw new UsageException($"--seed {seed} with {count} generations: generation k runs at seed + k, so --seed must be at most {SeedSequence.MaxFirstSeed(count)}");
    }

    /// <summary>The requests: <paramref name="perPrompt"/> of each prompt in turn, the k-th with seed + k.</summary>
    public static IReadOnlyList<GenerationRequest> Requests(GenerationRequest request, IReadOnlyList<string> prompts, int perPrompt) =>
        [.. prompts.SelectMany(p => Enumerable.Repeat(p, perPrompt)).Select((p, k) => request with { Prompt = p, Seed = SeedSequence.Of(request.Seed ?? 0, k) })];

    /// <summary>The path of output <paramref name="index"/> of <paramref name="count"/>: "fox.png" → "fox_0001.png"
    /// (a folder of PNG frames: "fox" → "fox_0001").</summary>
    public static string Numbered(string path, int index, int count)
    {
        string digits = (index + 1).ToString($"D{Math.Max(4, count.ToString().Length)}", System.Globalization.CultureInfo.InvariantCulture);
        return Path.Combine(Path.GetDirectoryName(path) ?? "", $"{Path.GetFileNameWithoutExtension(path)}_{digits}{Path.GetExtension(path)}");
    }

    /// <summary>A prompt shortened for a progress line.</summary>
    public static string Short(string prompt) => prompt.Length <= 70 ? prompt : prompt[..67] + "...";
}
