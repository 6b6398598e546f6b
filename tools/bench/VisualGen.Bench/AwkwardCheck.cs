using VisualGen.Demo;
using VisualGen.Engines;
using VisualGen.Exporter.Commands;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Wan;
using VisualGen.Tensors;
using VisualGen.Tokenizers.Wan;

/// <summary>
/// <c>visualgen-bench awkward WORKDIR [--engines REF,TEST]</c>: the Wan text-to-video pipeline on random checkpoints
/// with awkward sizes (widths and head sizes not multiples of 8 or 16, odd frame, patch and text token counts), written
/// by <see cref="DemoModel.WriteCustom"/>, run through the library twice, on REF (default ort-cpu) and on TEST (default
/// native-cuda), each wired as the CLI wires <c>--engine</c>, with one seed and explicit initial latents. Compared: the
/// text encoder's last_hidden_state, one transformer forward on the same inputs (batch 2 as with guidance), a VAE decode
/// of the same latents (the initial ones), the final latents and the decoded video, each on its own (a component that
/// fails on one engine leaves the others compared). One markdown row per configuration; the bar is cosine ≥ 0.999 for
/// each; exit code 1 if any fails.
/// <c>--engines ort-cpu,ort-cpu</c> checks the comparison itself on a machine without a GPU (every cosine is 1).
/// </summary>
static class AwkwardCheck
{
    const double Bar = 0.999;
    const string Prompt = "A red fox runs across a snowy field at dawn, cinematic.";

    /// <summary>One checkpoint and one request. Tokens: latent frames × (height/16) × (width/16).</summary>
    sealed record Case(string Name, DemoModelSizes Sizes, int Frames, int Height, int Width, int MaxSequenceLength, int Steps)
    {
        public long LatentFrames => (Frames - 1) / 4 + 1;
        public long Tokens => LatentFrames * (Height / 16) * (Width / 16);
        public long[] LatentShape => [1, 16, LatentFrames, Height / 8, Width / 8];

        public string Describe()
        {
            var s = Sizes;
            return $"DiT {s.Heads}×{s.AttentionHeadDim} ffn {s.FfnDim} L{s.NumLayers}; UMT5 {s.TextDim} ({s.TextHeads}×{s.TextHeadDim}, ff {s.TextFfnDim}) L{s.TextLayers}; " +
                   $"VAE base {s.VaeBaseDim}; {Frames}×{Height}×{Width} → {LatentFrames}×{Height / 16}×{Width / 16} = {Tokens} tokens, text {MaxSequenceLength}";
        }
    }

    static readonly Case[] Cases =
    [
        new("h3x20", new DemoModelSizes
        {
            Heads = 3, AttentionHeadDim = 20, FfnDim = 84, NumLayers = 2,
            TextDim = 36, TextHeads = 3, TextHeadDim = 12, TextFfnDim = 52, TextLayers = 2, VaeBaseDim = 6,
        }, Frames: 9, Height: 48, Width: 80, MaxSequenceLength: 37, Steps: 3),
        new("h5x12", new DemoModelSizes
        {
            Heads = 5, AttentionHeadDim = 12, FfnDim = 76, NumLayers = 3,
            TextDim = 44, TextHeads = 5, TextHeadDim = 12, TextFfnDim = 92, TextLayers = 3, VaeBaseDim = 5,
        }, Frames: 5, Height: 80, Width: 112, MaxSequenceLength: 23, Steps: 3),
        // VAE base 7, not 3: a random Wan VAE whose RMS norms see 3 channels amplifies any difference in its input
        // latents ~250× (final latents cos 0.999992 gave videos at cos 0.998 while the same latents decoded at cos
        // 1.000000 with TF32 off, 0.999855 with it: RESULTS.md, 2026-12-02 stop 21), so it measured that model's
        // conditioning rather than the engine
        new("h7x10", new DemoModelSizes
        {
            Heads = 7, AttentionHeadDim = 10, FfnDim = 30, NumLayers = 1,
            TextDim = 28, TextHeads = 7, TextHeadDim = 4, TextFfnDim = 30, TextLayers = 1, VaeBaseDim = 7,
        }, Frames: 17, Height: 16, Width: 48, MaxSequenceLength: 11, Steps: 3),
    ];

    /// <summary>One output of one engine, or why it has none (the first line of the exception).</summary>
    sealed record Result(HostTensor? Tensor, string? Error)
    {
        public static Result Of(Func<HostTensor> run)
        {
            try { return new(run(), null); }
            catch (Exception e) { return Failed(e); }
        }

        public static Result Failed(Exception e)
        {
            string first = e.Message.Split('\n')[0];
            return new(null, $"{e.GetType().Name}: {first[..Math.Min(200, first.Length)]}");
        }
    }

    /// <summary>What one engine produced for a case: each output on its own, so one failing component leaves the others compared.</summary>
    sealed record Outputs(Result TextEmbeds, Result Prediction, Result Decoded, Result Latents, Result Video);

    public static int Run(string[] args)
    {
        if (args.Length < 1 || args[0].StartsWith("--", StringComparison.Ordinal))
            return Usage("missing WORKDIR");
        string workdir = Path.GetFullPath(args[0]);
        string[] engines = ["ort-cpu", "native-cuda"];
        for (int i = 1; i < args.Length; i++)
        {
            if (args[i] == "--engines" && i + 1 < args.Length && args[i + 1].Split(',') is [var a, var b]) { engines = [a, b]; i++; }
            else return Usage($"unexpected argument '{args[i]}'");
        }
        foreach (var engine in engines)
        {
            try { Runtime.Backend(engine); }
            catch (UsageException e) { return Usage(e.Message); }
        }
        string cache = Path.Combine(workdir, "cache");
        Directory.CreateDirectory(workdir);

        Console.WriteLine($"| config | sizes | {engines[1]} vs {engines[0]}: text encoder | transformer (one forward) | VAE decode | final latents | decoded video | cos >= {Bar} |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        int status = 0;
        foreach (var c in Cases)
        {
            string cells;
            bool ok;
            try
            {
                string model = Path.Combine(workdir, c.Name, "checkpoint");
                if (Directory.Exists(model)) Directory.Delete(model, recursive: true);   // this command's own folder: rewritten each run
                DemoModel.WriteCustom(model, c.Sizes);
                var reference = Generate(c, model, cache, engines[0]);
                var test = Generate(c, model, cache, engines[1]);
                var comparisons = new[]
                {
                    Compare(engines, reference.TextEmbeds, test.TextEmbeds), Compare(engines, reference.Prediction, test.Prediction),
                    Compare(engines, reference.Decoded, test.Decoded),
                    Compare(engines, reference.Latents, test.Latents), Compare(engines, reference.Video, test.Video),
                };
                ok = comparisons.All(x => x.Ok);
                // one failure everywhere (a missing native library): said once
                var shown = comparisons.Select((x, i) => i > 0 && !x.Ok && x.Cell == comparisons[0].Cell ? "(same)" : x.Cell);
                cells = string.Join(" | ", shown) + $" | {(ok ? "ok" : "FAIL")}";
            }
            catch (Exception e)
            {
                ok = false;
                cells = $"FAILED: {Result.Failed(e).Error} | | | | | FAIL";
            }
            if (!ok) status = 1;
            Console.WriteLine($"| {c.Name} | {c.Describe()} | {cells} |");
        }
        return status;
    }

    static int Usage(string problem)
    {
        Console.Error.WriteLine($"awkward: {problem}\nusage: visualgen-bench awkward WORKDIR [--engines REF,TEST]   (default ort-cpu,native-cuda)");
        return 2;
    }

    static (bool Ok, string Cell) Compare(string[] engines, Result expected, Result got)
    {
        if (expected.Tensor is null) return (false, $"{engines[0]} (reference) FAILED: {expected.Error}");
        if (got.Tensor is null) return (false, $"{engines[1]} FAILED: {got.Error}");
        if (!got.Tensor.Shape.SequenceEqual(expected.Tensor.Shape)) return (false, $"shape {got.Tensor.ShapeText} vs {expected.Tensor.ShapeText}");
        var (cos, max, _) = Similarity.Compare(expected.Tensor.Floats, got.Tensor.Floats);
        return (cos >= Bar, $"cos {cos:F6}, max abs {max:E2}");
    }

    /// <summary>The case on one engine: the text encoder on the prompt's tokens, the transformer once on fixed random
    /// inputs (so that it is compared on its own, not through the text encoder), the VAE decoder on the initial latents
    /// (denormalized: random latents of the VAE's statistics), and the pipeline end to end (seed and initial latents fixed).</summary>
    static Outputs Generate(Case c, string model, string cache, string engine)
    {
        var log = new StderrLog($"{c.Name} {engine}");
        using var provider = Runtime.CreateEngineProvider(cache, engine, log);
        var latents = HostTensor.Float32(LatentNoise.Gaussian(c.LatentShape.Aggregate(1L, (a, b) => a * b), 42), c.LatentShape);

        var textEmbeds = Result.Of(() =>
        {
            var tokens = WanPromptTokenizer.Load(Path.Combine(model, "tokenizer"), c.MaxSequenceLength).Tokenize(Prompt);
            var encoder = provider.GetEngine(model, "text_encoder", log);
            try
            {
                return encoder.Run(new Dictionary<string, HostTensor>
                {
                    ["input_ids"] = HostTensor.Int64(tokens.InputIds, 1, tokens.Length),
                    ["attention_mask"] = HostTensor.Int64(tokens.AttentionMask, 1, tokens.Length),
                })["last_hidden_state"];
            }
            finally { provider.Release(encoder); }
        });
        var prediction = Result.Of(() =>
        {
            // cond and uncond batched as the pipeline batches them: the initial latents twice, t = 500, random text states
            long context = 2L * c.MaxSequenceLength * c.Sizes.TextDim;
            var transformer = provider.GetEngine(model, "transformer", log);
            try
            {
                return transformer.Run(new Dictionary<string, HostTensor>
                {
                    ["hidden_states"] = HostTensor.Float32([.. latents.Floats, .. latents.Floats], [2, .. c.LatentShape[1..]]),
                    ["timestep"] = HostTensor.Float32([500f, 500f], 2),
                    ["encoder_hidden_states"] = HostTensor.Float32([.. LatentNoise.Gaussian(context, 7).Select(x => 0.2f * x)], 2, c.MaxSequenceLength, c.Sizes.TextDim),
                })["sample"];
            }
            finally { provider.Release(transformer); }
        });
        var decoded = Result.Of(() =>
        {
            var stats = new WanLatentStats(WanVaeConfig.Read(Path.Combine(model, "vae")));
            var first = provider.GetEngine(model, "vae.decoder_first", log);
            try
            {
                var next = provider.GetEngine(model, "vae.decoder_next", log);
                try { return new WanVaeDecoder(first, next).Decode(stats.Denormalize(latents)); }
                finally { provider.Release(next); }
            }
            finally { provider.Release(first); }
        });

        var request = new GenerationRequest
        {
            Prompt = Prompt, NegativePrompt = "blurry, low quality", Height = c.Height, Width = c.Width, NumFrames = c.Frames,
            NumInferenceSteps = c.Steps, GuidanceScale = 5.0, Seed = 42, MaxSequenceLength = c.MaxSequenceLength, Latents = latents,
        };
        try
        {
            using var pipeline = ModelFamilies.CreateRegistry().Create(model, provider);
            var result = pipeline.GenerateAsync(request).GetAwaiter().GetResult();
            return new Outputs(textEmbeds, prediction, decoded, new Result(result.Latents, null), new Result(result.Output, null));
        }
        catch (Exception e)
        {
            var failed = Result.Failed(e);
            return new Outputs(textEmbeds, prediction, decoded, failed, failed);
        }
    }

    /// <summary>The engine provider's log on stderr, written on the calling thread (the table goes to stdout).</summary>
    sealed class StderrLog(string prefix) : IProgress<string>
    {
        public void Report(string value) => Console.Error.WriteLine($"  [{prefix}] {value}");
    }
}
