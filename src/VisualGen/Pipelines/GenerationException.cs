namespace VisualGen.Pipelines;

/// <summary>A request a pipeline cannot take (bad size, frame count, steps, missing image...). The message names the argument and the rule.</summary>
public sealed class GenerationException(string parameter, string message, Exception? innerException = null) : Exception(message, innerException)
{
    /// <summary>The call argument at fault, in diffusers' spelling (height, num_frames, ...).</summary>
    public string Parameter { get; } = parameter;

    /// <summary>For an argument that is a list (FLUX.2's reference images, <see cref="GenerationRequest.Images"/>): the item
    /// at fault, from 0, whose own refusal is the <see cref="Exception.InnerException"/>, so a caller can name the item its
    /// own way (the server: the request's file part); null when the refusal is not one item's.</summary>
    public int? Index { get; init; }
}
