using System.Diagnostics;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Graph;
using VisualGen.Tensors;
using VisualGen.Tests.Models;

namespace VisualGen.Tests.Engines;

/// <summary>A cancelled token stops an ONNX Runtime run in flight (RunOptions.Terminate, read between nodes): a VAE decode
/// of minutes on the CPU used to run to its end whatever the token said, so Ctrl+C or a client gone could not stop it.</summary>
public class OrtCancellationTests
{
    /// <summary>y = x·x·x·… : <paramref name="products"/> MatMuls of [size, size] in a chain (no constant to fold).</summary>
    static IEngine MatMulChain(int products, string name)
    {
        var tracer = new Tracer(name);
        var x = tracer.Input("x", TensorDType.F32, "n", "n");
        var y = x;
        for (int i = 0; i < products; i++) y = y.MatMul(x);
        tracer.Output(y, "y", "n", "n");
        return OrtTestEngine.Build(tracer.Graph, name);
    }

    static Dictionary<string, HostTensor> Square(int size) =>
        new() { ["x"] = HostTensor.Float32(new float[size * size], size, size) };   // zeros: no denormals, no overflow

    [Fact]
    public async Task A_run_cancelled_in_flight_ends_promptly_with_OperationCanceledException()
    {
        // 2000 products of 1024² (2.1 GFLOP each, 4.3 TFLOP in all): minutes on a CI machine's two cores, one node a
        // fraction of a second
        using var engine = MatMulChain(2000, "chain");
        using var cancel = new CancellationTokenSource();
        var clock = new Stopwatch();
        var run = Task.Run(() =>
        {
            clock.Start();
            return engine.Run(Square(1024), cancel.Token);
        });
        await Task.Delay(500);
        Assert.False(run.IsCompleted, "the chain ended before it was cancelled; make it longer");
        cancel.Cancel();
        var stopped = Stopwatch.StartNew();
        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.True(stopped.Elapsed < TimeSpan.FromSeconds(10), $"the run ended {stopped.Elapsed.TotalSeconds:F1} s after it was cancelled");
        Assert.Equal(cancel.Token, e.CancellationToken);
        Assert.Contains("engine 'chain' was cancelled", e.Message);

        // the session runs again afterwards: the terminate flag was this run's own
        var y = engine.Run(Square(2), CancellationToken.None)["y"];
        Assert.Equal(new float[4], y.Floats);
    }

    [Fact]
    public void A_token_cancelled_before_the_run_throws_at_once_and_the_resident_view_honours_it_too()
    {
        using var engine = MatMulChain(2, "short");
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => engine.Run(Square(4), cancelled.Token));
        var resident = engine.AsResident();
        using var x = resident.Upload(Square(4)["x"]);
        Assert.ThrowsAny<OperationCanceledException>(() => resident.RunResident(new Dictionary<string, IEngineTensor> { ["x"] = x }, "y", cancelled.Token));

        // not cancelled: the outputs asked for, as before
        var outputs = engine.Run(Square(4), ["y"], CancellationToken.None);
        Assert.Equal(["y"], outputs.Keys);
    }
}
