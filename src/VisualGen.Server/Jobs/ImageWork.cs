using VisualGen.Pipelines;
using VisualGen.Server.Api;
using VisualGen.Server.Hosting;

namespace VisualGen.Server.Jobs;

/// <summary>
/// A synchronous image request waiting its turn (one queue slot for all its n images, seeds seed, seed+1, ...);
/// its caller awaits <see cref="Result"/>.
/// </summary>
public sealed class ImageWork(ServedModel model, GenerationRequest request, int count, CancellationToken callerGone) : QueuedWork(model)
{
    readonly TaskCompletionSource<IReadOnlyList<GenerationResult>> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<IReadOnlyList<GenerationResult>> Result => _result.Task;

    public override async Task RunAsync(CancellationToken ct)
    {
        if (callerGone.IsCancellationRequested) { _result.TrySetCanceled(callerGone); return; }
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, callerGone);
        try
        {
            var results = new List<GenerationResult>(count);
            for (int i = 0; i < count; i++)
                results.Add(await Model.Pipeline.GenerateAsync(request with { Seed = SeedSequence.Of(request.Seed!.Value, i) }, null, linked.Token));
            _result.TrySetResult(results);
        }
        catch (OperationCanceledException e) when (callerGone.IsCancellationRequested) { _result.TrySetCanceled(e.CancellationToken); }
        catch (OperationCanceledException) { _result.TrySetException(ShutdownDrain.ShuttingDown("the generation was stopped")); } // past the shutdown grace period
        catch (EngineBuildStoppedException) { _result.TrySetException(ShutdownDrain.ShuttingDown("the engine build the generation needed was stopped")); }
        catch (Exception e) { _result.TrySetException(e); }
    }

    public override void Abandon() => _result.TrySetException(ShutdownDrain.ShuttingDown("the request did not run"));
}
