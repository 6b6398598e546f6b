using VisualGen.Server.Api;
using VisualGen.Server.Hosting;

namespace VisualGen.Server.Jobs;

/// <summary>
/// The drain on SIGTERM (the host's stop): before any hosted service stops, while Kestrel still answers, new generation
/// requests are refused (503 <c>shutting_down</c>), the running job gets <see cref="ServerOptions.ShutdownGrace"/> to
/// finish (its synchronous clients get the result), and past that it is cancelled and stored as queued again. Queued
/// video jobs stay queued on disk; waiting image requests and synchronous clients of queued video jobs are answered 503.
/// An engine export or build in progress (a model's first generation) stops at once (<see cref="EngineBuilds"/>): its
/// generation ends as one stopped past the grace period does, without waiting for the grace period.
/// </summary>
public sealed class ShutdownDrain(WorkQueue queue, EngineBuilds builds, ServerOptions options, ILogger<ShutdownDrain> log) : IHostedLifecycleService
{
    /// <summary>Retry-After of the 503 answered while draining: about the time a restart takes.</summary>
    public const int RetryAfterSeconds = 30;

    readonly CancellationTokenSource _drained = new();
    volatile bool _draining;

    public bool IsDraining => _draining;

    /// <summary>Cancelled once the drain is over (the running job finished or was put back): synchronous waiters still
    /// waiting then are answered 503.</summary>
    public CancellationToken Drained => _drained.Token;

    public static ApiException ShuttingDown(string? detail = null) =>
        new(StatusCodes.Status503ServiceUnavailable, "server_error", null, "shutting_down",
            "The server is shutting down and takes no new work" + (detail is null ? "" : "; " + detail) + $"; retry in {RetryAfterSeconds} seconds.")
        { RetryAfterSeconds = RetryAfterSeconds };

    /// <summary>Throws the 503 once the drain has begun.</summary>
    public void ThrowIfDraining()
    {
        if (_draining) throw ShuttingDown();
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        var idle = queue.Close();
        builds.Stop(); // a build may take minutes: it stops now, with its temporary folders removed
        bool busy = !idle.IsCompleted;
        log.LogInformation("shutting down: draining ({Running}, {Depth} waiting stay queued; grace {Grace}s)",
            busy ? "1 running" : "none running", queue.Depth, options.ShutdownGrace.TotalSeconds);
        try
        {
            if (busy)
            {
                bool finished = await Finished(idle, options.ShutdownGrace, cancellationToken);
                if (!finished)
                {
                    log.LogWarning("shutdown grace period ({Grace}s) over: cancelling the running job; it is stored as queued and runs at the next start",
                        options.ShutdownGrace.TotalSeconds);
                    await Finished(queue.CancelRunning(), TimeSpan.FromSeconds(10), CancellationToken.None);
                }
                else log.LogInformation("shutting down: the running job finished");
            }
        }
        finally
        {
            queue.Drain(); // image requests that did not run are answered 503
            _drained.Cancel();
        }
    }

    static async Task<bool> Finished(Task task, TimeSpan within, CancellationToken ct)
    {
        try
        {
            await task.WaitAsync(within, ct);
            return true;
        }
        catch (TimeoutException) { return false; }
        catch (OperationCanceledException) { return false; }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
