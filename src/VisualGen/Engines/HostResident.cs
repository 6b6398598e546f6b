using VisualGen.Checkpoints;
using VisualGen.Tensors;

namespace VisualGen.Engines;

/// <summary>A resident tensor that is a host tensor: what an engine computing on the host hands out.</summary>
public sealed class HostResidentTensor(HostTensor tensor) : IEngineTensor
{
    public HostTensor Tensor { get; } = tensor;
    public long[] Shape => Tensor.Shape;
    public TensorDType DType => Tensor.DType;
    public HostTensor ToHost() => Tensor;
    public void Dispose() { }
}

/// <summary>Every engine as an <see cref="IResidentEngine"/>: engines that keep tensors where they compute (the native CUDA
/// engine) as they are, the others (ONNX Runtime CPU, which computes in host memory) behind an adapter whose resident
/// tensors are host tensors. Pipeline code has one path for both.</summary>
public static class ResidentEngines
{
    public static IResidentEngine AsResident(this IEngine engine) => engine as IResidentEngine ?? new HostEngine(engine);

    /// <summary>Runs <paramref name="engine"/> where it computes and keeps only <paramref name="output"/> (the caller
    /// disposes it); its other outputs are freed at once.</summary>
    public static IEngineTensor RunResident(this IResidentEngine engine, IReadOnlyDictionary<string, IEngineTensor> inputs, string output,
        CancellationToken cancellationToken = default)
    {
        IEngineTensor? result = null;
        foreach (var (name, t) in engine.RunResident(inputs, [], cancellationToken))
            if (name == output) result = t;
            else t.Dispose();
        return result ?? throw new EngineException($"engine '{engine.Manifest.Component}' has no output '{output}'");
    }

    sealed class HostEngine(IEngine inner) : IResidentEngine
    {
        public EngineManifest Manifest => inner.Manifest;
        public long DeviceBytes => inner.DeviceBytes;
        public long SharedDeviceBytes => inner.SharedDeviceBytes;
        public long TensorDeviceBytes => inner.TensorDeviceBytes;
        public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs) => inner.Run(inputs);
        public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs, IReadOnlyCollection<string> outputs) =>
            inner.Run(inputs, outputs);
        public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs, IReadOnlyCollection<string>? outputs,
            CancellationToken cancellationToken) => inner.Run(inputs, outputs, cancellationToken);
        /// <summary>A copy, as an upload is: the loop steps its tensors in place, and the caller's arrays (a request's
        /// latents) must not change.</summary>
        public IEngineTensor Upload(HostTensor tensor) => new HostResidentTensor(tensor.DType switch
        {
            Checkpoints.TensorDType.I64 => HostTensor.Int64((long[])tensor.Longs.Clone(), [.. tensor.Shape]),
            Checkpoints.TensorDType.F32 => HostTensor.Float32((float[])tensor.Floats.Clone(), [.. tensor.Shape]),
            _ => tensor,
        });

        public IReadOnlyDictionary<string, IEngineTensor> RunResident(IReadOnlyDictionary<string, IEngineTensor> inputs) =>
            RunResident(inputs, [], CancellationToken.None);

        /// <summary>The inner engine's cancellable run (ONNX Runtime stops a graph in flight); host tensors need no disposing.</summary>
        public IReadOnlyDictionary<string, IEngineTensor> RunResident(IReadOnlyDictionary<string, IEngineTensor> inputs, IReadOnlyCollection<string> consumed,
            CancellationToken cancellationToken) =>
            inner.Run(inputs.ToDictionary(kv => kv.Key, kv => kv.Value is HostResidentTensor h ? h.Tensor
                    : throw new EngineException($"input '{kv.Key}' of engine '{inner.Manifest.Component}' is not a host tensor ({kv.Value.GetType().Name})")),
                    null, cancellationToken)
                .ToDictionary(kv => kv.Key, kv => (IEngineTensor)new HostResidentTensor(kv.Value));

        public ITensorArithmetic Arithmetic => HostArithmetic.Instance;

        public void Dispose() => inner.Dispose();
    }
}
