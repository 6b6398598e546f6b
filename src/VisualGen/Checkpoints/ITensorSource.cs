namespace VisualGen.Checkpoints;

/// <summary>Named tensors read from one or more safetensors files.</summary>
public interface ITensorSource : IDisposable
{
    IEnumerable<string> Names { get; }
    bool Contains(string name);
    TensorInfo Info(string name);
    ReadOnlySpan<byte> GetBytes(string name);
    float[] ReadFloat32(string name);
}
