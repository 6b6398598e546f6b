using VisualGen.Demo;
using VisualGen.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Library;

/// <summary>Cancellation reaches the stages after the denoising loop: a generation cancelled when its decode stage begins
/// throws <see cref="OperationCanceledException"/>, returns no result and never runs (or even builds) the VAE decoder.
/// The token was read between denoising steps only, so the decode ran to its end and the cancelled request returned a
/// result.</summary>
public sealed class GenerationCancellationTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-cancel");

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public async Task Cancelled_when_the_decode_stage_is_reported_throws_and_never_decodes()
    {
        var lines = new List<string>();
        var options = new VisualGenOptions { EngineCacheDirectory = Path.Combine(_dir, "engines"), Log = l => { lock (lines) lines.Add(l); } };
        using var pipeline = VisualGenPipeline.Load(DemoModel.EnsureCreated(Path.Combine(_dir, "model")), options);
        using var cancel = new CancellationTokenSource();
        var stages = new List<string>();
        // one frame: one latent frame, one decoder call (no chunk boundary where the token was read before)
        var request = VisualGenPipeline.DemoRequest("a fox") with { Seed = 1, NumFrames = 1 };
        GenerationResult? result = null;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => result = await pipeline.GenerateAsync(request, new SyncProgress(p =>
        {
            stages.Add(p.Stage);
            if (p.Stage == "decode") cancel.Cancel();
        }), cancel.Token));
        Assert.Null(result);
        Assert.Contains("decode", stages);
        Assert.DoesNotContain(lines, l => l.Contains("vae.decoder", StringComparison.Ordinal));

        // the pipeline is fine afterwards: the same request, not cancelled, decodes
        var done = await pipeline.GenerateAsync(request);
        Assert.Equal([1, 1, 32, 48, 3], done.Output.Shape);
        Assert.Contains(lines, l => l.Contains("vae.decoder", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cancelled_while_encoding_throws_before_any_step()
    {
        using var pipeline = VisualGenPipeline.Load(DemoModel.EnsureCreated(Path.Combine(_dir, "model")),
            new VisualGenOptions { EngineCacheDirectory = Path.Combine(_dir, "engines") });
        using var cancel = new CancellationTokenSource();
        var stages = new List<GenerationProgress>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pipeline.GenerateAsync(VisualGenPipeline.DemoRequest("a fox"),
            new SyncProgress(p =>
            {
                stages.Add(p);
                if (p.Stage == "encode") cancel.Cancel();
            }), cancel.Token));
        Assert.DoesNotContain(stages, p => p.Stage == "denoise" && p.Step > 0);
        Assert.DoesNotContain(stages, p => p.Stage == "decode");
    }
}
