namespace VisualGen.Checkpoints;

/// <summary>Named tensors read from one or more safetensors files.</summary>
public interface ITensorSource : IDisposable
{
    IEnumerable<string> Names { get; }
    bool Contains(string name);
    TensorInfo Info(string name);
    ReadOnlySpan<byte> GetBytes(string name);
    float[] ReadFloat32(string name);

    /// <summary>Where a tensor's bytes lie on disk (file, byte offset from the file's start, length), when the source is
    /// a file and the bytes are stored as they are; false otherwise. Engine entries reference these ranges instead of
    /// copying them.</summary>
    bool TryLocate(string name, out TensorLocation location)
    {
        location = default;
        return false;
    }
}

/// <summary>A tensor's bytes in a file: <paramref name="Path"/> (full path), <paramref name="Offset"/> from the file's
/// first byte, <paramref name="Length"/> bytes.</summary>
public readonly record struct TensorLocation(string Path, long Offset, long Length);
