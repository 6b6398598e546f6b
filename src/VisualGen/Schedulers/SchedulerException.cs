namespace VisualGen.Schedulers;

/// <summary>A scheduler call or argument the scheduler cannot take (no mu, a step out of order, a bad shift). The message
/// names the argument and the value. Problems in scheduler_config.json are <see cref="Checkpoints.CheckpointException"/>s.</summary>
public sealed class SchedulerException(string message, Exception? inner = null) : Exception(message, inner);
