namespace VisualGen.Server.Hosting;

/// <summary>A generation that needed an engine not yet built while the server shut down: the engine's export or build
/// was stopped (<see cref="EngineBuilds"/>) and nothing of it was kept; the next start builds it again.</summary>
public sealed class EngineBuildStoppedException(OperationCanceledException stopped)
    : Exception("the engine build this generation needed was stopped by the server's shutdown (the next start builds it again)", stopped);
