using System.Globalization;
using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Cli;
using VisualGen.Tensors;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>The CLI driven exactly like ../shared/tools/conformance/cli_fixture.py: flags from golden.json's call,
/// --latents from pipeline.latents_init, --save-tensors compared with the goldens.</summary>
public class CliConformanceTests
{
    public static string[] ArgsFromGolden(string family, string latentsPath, string tensorsPath, string outputPath)
    {
        string fx = Fixtures.Family(family);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(fx, "golden.json")));
        var args = new List<string> { "generate", "--model", Path.Combine(fx, "checkpoint") };
        foreach (var p in doc.RootElement.GetProperty("call").EnumerateObject())
        {
            if (p.Name is "latents" or "audio_latents") continue;
            if (p.Name == "image") { args.AddRange(["--image", Path.Combine(fx, p.Value.GetString()!)]); continue; }
            string flag = p.Name switch { "num_frames" => "--frames", "num_inference_steps" => "--steps", _ => "--" + p.Name.Replace('_', '-') };
            string value = p.Value.ValueKind switch
            {
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                JsonValueKind.Number => p.Value.GetDouble().ToString(CultureInfo.InvariantCulture),
                JsonValueKind.Array => string.Join(",", p.Value.EnumerateArray().Select(v => v.ToString())),
                _ => p.Value.GetString()!,
            };
            args.AddRange([flag, value]);
        }
        args.AddRange(["--latents", latentsPath, "--save-tensors", tensorsPath, "--output", outputPath, "--format", "png",
            "--engine-cache", ConformancePipelines.CacheDir]);
        return args.ToArray();
    }

    [ConformanceTheory]
    [InlineData("wan21_t2v", "frames/frame_0000.png")]
    [InlineData("wan21_t2v_euler", "frames/frame_0000.png")]
    [InlineData("wan22_t2v_a14b", "frames/frame_0000.png")]
    [InlineData("wan22_ti2v_5b", "frames/frame_0000.png")]
    [InlineData("wan21_i2v", "frames/frame_0000.png")]
    [InlineData("flux1", "frames.png")]
    [InlineData("qwenimage", "frames.png")]
    [InlineData("flux2", "frames.png")]
    public void Cli_generate_matches_goldens(string family, string writtenFile)
    {
        string tmp = Fixtures.TempDir("cli");
        string latents = Path.Combine(tmp, "latents.safetensors"), tensors = Path.Combine(tmp, "out.safetensors");
        using (var golden = Fixtures.Golden(family))
            SafeTensorsWriter.Write(latents, [HostTensor.FromSource(golden, "pipeline.latents_init").ToTensorData("latents")]);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int rc = CliApp.Run(ArgsFromGolden(family, latents, tensors, Path.Combine(tmp, "frames")), stdout, stderr);
        Assert.True(rc == 0, $"exit {rc}: {stderr}");
        Assert.Matches(@"step (\d+)/\1", stderr.ToString());
        using var saved = SafeTensorsFile.Open(tensors);
        using var gold = Fixtures.Golden(family);
        Compare.Pipeline(gold.ReadFloat32("pipeline.latents_final"), saved.ReadFloat32("latents"), "latents");
        Compare.Pipeline(gold.ReadFloat32("pipeline.output"), saved.ReadFloat32("output"), "output");
        Assert.True(File.Exists(Path.Combine(tmp, writtenFile)), $"{writtenFile} was not written");
    }
}
