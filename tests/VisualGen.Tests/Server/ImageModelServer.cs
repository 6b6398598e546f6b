using VisualGen.Pipelines;
using VisualGen.Server.Hosting;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>
/// The real server on a tiny conformance image checkpoint (FLUX.1, Qwen-Image or FLUX.2), loaded by the server's own loader,
/// with the engine cache the pipeline tests share; and the library's pipeline on the same checkpoint for references.
/// </summary>
public sealed record ImageModelServer(string Family, string ModelId)
{
    public static readonly ImageModelServer Flux = new("flux1", "flux");
    public static readonly ImageModelServer QwenImage = new("qwenimage", "qwenimage");
    public static readonly ImageModelServer Flux2 = new("flux2", "flux2");

    public string Checkpoint => Fixtures.Checkpoint(Family);

    public ServerOptions Options() => new()
    {
        ModelDir = Checkpoint,
        EngineCacheDir = ConformancePipelines.CacheDir,
        DataDir = Fixtures.TempDir("vg-server"),
    };

    public Task<LiveServer> StartAsync() => LiveServer.StartAsync(WanServer.Load, Options());

    /// <summary>The library's pipeline, outside the server, on the same checkpoint.</summary>
    public GenerationResult Generate(GenerationRequest request)
    {
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Checkpoint, provider);
        return pipeline.GenerateAsync(request).GetAwaiter().GetResult();
    }
}
