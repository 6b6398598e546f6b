namespace VisualGen.Schedulers;

/// <summary>A scheduler config or call the scheduler cannot take. The message names the config file or argument, the key and the value.</summary>
public sealed class SchedulerException(string message, Exception? inner = null) : Exception(message, inner);
