namespace VisualGen.Media;

/// <summary>An image or video could not be read or written. The message names the file and what to do.</summary>
public sealed class MediaException(string message, Exception? inner = null) : Exception(message, inner);
