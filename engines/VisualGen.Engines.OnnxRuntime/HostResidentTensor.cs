using VisualGen.Checkpoints;
using VisualGen.Tensors;

namespace VisualGen.Engines.OnnxRuntime;

/// <summary>The CPU execution provider's resident tensor: the host tensor itself.</summary>
public sealed class HostResidentTensor(HostTensor tensor) : IEngineTensor
{
    public HostTensor Tensor { get; } = tensor;
    public long[] Shape => Tensor.Shape;
    public TensorDType DType => Tensor.DType;
    public HostTensor ToHost() => Tensor;
    public void Dispose() { }
}
