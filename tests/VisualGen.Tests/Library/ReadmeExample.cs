using VisualGen.Pipelines;

namespace VisualGen.Tests.Library;

/// <summary>
/// README's "Use from C#" example, line for line between the markers (<see cref="LibraryReadmeTests"/> checks that
/// they agree). <see cref="Engines.TestHelperProgram"/> runs it in a child process (<c>readme-example</c>) so its
/// default folders ($VISUALGEN_DEMO, $VISUALGEN_CACHE, the working folder) can point at a temporary folder.
/// </summary>
public static class ReadmeExample
{
    public static async Task RunAsync()
    {
        // readme:begin
        // The built-in tiny demo model (random weights: its video is noise). For a real model, pass its diffusers folder:
        // using var pipeline = VisualGenPipeline.Load("/models/Wan2.1-T2V-1.3B-Diffusers", new VisualGenOptions { Engine = "native-cuda" });
        using var pipeline = VisualGenPipeline.LoadDemo(new VisualGenOptions { Engine = "ort-cpu", Log = Console.WriteLine });
        var request = VisualGenPipeline.DemoRequest("A red fox runs across a snowy field at dawn.") with { Seed = 42 };
        var progress = new Progress<GenerationProgress>(p => Console.WriteLine($"{p.Stage} {p.Step}/{p.TotalSteps}"));
        GenerationResult result = await pipeline.GenerateAsync(request, progress);
        foreach (string file in await result.SaveAsync("fox.mp4"))
            Console.WriteLine($"wrote {file}");
        // readme:end
    }
}
