namespace VisualGen.Checkpoints;

/// <summary>A checkpoint file or folder is missing, malformed or inconsistent. The message names the file and the problem.</summary>
public sealed class CheckpointException : Exception
{
    public string? FilePath { get; }

    public CheckpointException(string? filePath, string problem, Exception? inner = null)
        : base(filePath is null ? problem : $"{filePath}: {problem}", inner)
    {
        FilePath = filePath;
    }
}
