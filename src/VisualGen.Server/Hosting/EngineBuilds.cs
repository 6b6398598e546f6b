namespace VisualGen.Server.Hosting;

/// <summary>
/// The lifetime of the engine exports and builds that the server's pipelines start on first use: <see cref="Token"/> is
/// what their engine providers hold (<c>EngineProvider.Cancellation</c>), and the shutdown drain stops it as it begins
/// (<see cref="Jobs.ShutdownDrain"/>), so a build that could take minutes neither holds the shutdown nor is left half
/// done: it ends at its next check with its temporary folders removed, and the generation that waited on it fails with
/// an <see cref="EngineBuildStoppedException"/>. Generations on engines already built are not touched by it.
/// </summary>
public sealed class EngineBuilds
{
    readonly CancellationTokenSource _stop = new();

    public CancellationToken Token => _stop.Token;

    public bool Stopped => _stop.IsCancellationRequested;

    public void Stop() => _stop.Cancel();
}
