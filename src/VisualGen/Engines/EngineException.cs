namespace VisualGen.Engines;

/// <summary>An engine could not be built, loaded or run. The message says what and what to do.</summary>
public class EngineException(string message, Exception? inner = null) : Exception(message, inner);
