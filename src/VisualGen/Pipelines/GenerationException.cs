namespace VisualGen.Pipelines;

/// <summary>A request a pipeline cannot take (bad size, frame count, steps, missing image...). The message names the argument and the rule.</summary>
public sealed class GenerationException(string parameter, string message) : Exception(message)
{
    /// <summary>The call argument at fault, in diffusers' spelling (height, num_frames, ...).</summary>
    public string Parameter { get; } = parameter;
}
