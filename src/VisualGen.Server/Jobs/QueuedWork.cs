using VisualGen.Server.Hosting;

namespace VisualGen.Server.Jobs;

/// <summary>One generation waiting for the worker: a stored video job or an in-memory image request.</summary>
public abstract class QueuedWork(ServedModel model)
{
    public ServedModel Model { get; } = model;

    /// <summary>The video job id, or null for work not stored on disk.</summary>
    public virtual string? JobId => null;

    /// <summary>Runs the generation. <paramref name="ct"/> is cancelled on shutdown or when the job is deleted.</summary>
    public abstract Task RunAsync(CancellationToken ct);

    /// <summary>Called instead of <see cref="RunAsync"/> when the work leaves the queue without running (shutdown).</summary>
    public virtual void Abandon() { }
}
