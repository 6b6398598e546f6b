using VisualGen.Checkpoints;
using VisualGen.Tensors;

namespace VisualGen.Engines;

/// <summary>A tensor where an engine computes (GPU memory for the native CUDA engine, host memory for ONNX Runtime CPU),
/// owned by the engine layer. Pipelines pass it between calls of engines of one backend (VAE chunks and their feature
/// cache) so that nothing crosses to the host in between; <see cref="ToHost"/> is where data leaves.</summary>
public interface IEngineTensor : IDisposable
{
    long[] Shape { get; }
    TensorDType DType { get; }

    /// <summary>A host copy (waits for the work that produced the tensor).</summary>
    HostTensor ToHost();
}

/// <summary>An engine whose inputs and outputs can stay where it computes. Tensors it returns belong to the caller
/// (dispose them); it accepts the tensors of any engine of the same backend and device.</summary>
public interface IResidentEngine : IEngine
{
    /// <summary>Elementwise arithmetic on tensors of this engine's backend and device (the denoising loop's guidance and
    /// scheduler updates). It outlives the engine: Wan 2.2 A14B releases one expert while the latents stay.</summary>
    ITensorArithmetic Arithmetic { get; }

    /// <summary>True for an input whose values the engine reads on the host (the native engine's plan-time inputs, such as
    /// position ids): a caller passing it every call keeps it as a host tensor (<see cref="HostResidentTensor"/>) instead
    /// of uploading it, and nothing is read back per call.</summary>
    bool ReadsOnHost(string input) => false;

    /// <summary>Copies a host tensor to where the engine computes.</summary>
    IEngineTensor Upload(HostTensor tensor);

    /// <summary>Runs the graph on resident inputs; every output stays resident. The work is complete when this returns
    /// (another engine may read the outputs on its own stream).</summary>
    IReadOnlyDictionary<string, IEngineTensor> RunResident(IReadOnlyDictionary<string, IEngineTensor> inputs);

    /// <summary>As <see cref="RunResident(IReadOnlyDictionary{string, IEngineTensor})"/>, and disposes the inputs named in
    /// <paramref name="consumed"/> (whether or not the run succeeds). An engine that copies its inputs disposes them as soon
    /// as it holds its copy, before it allocates its outputs: a chunked VAE hands its feature cache from call to call, and
    /// the old and the new cache need not be alive at once.</summary>
    IReadOnlyDictionary<string, IEngineTensor> RunResident(IReadOnlyDictionary<string, IEngineTensor> inputs, IReadOnlyCollection<string> consumed)
    {
        try { return RunResident(inputs); }
        finally { foreach (var name in consumed) if (inputs.TryGetValue(name, out var t)) t.Dispose(); }
    }

    /// <summary>As <see cref="RunResident(IReadOnlyDictionary{string, IEngineTensor}, IReadOnlyCollection{string})"/>, unless
    /// <paramref name="cancellationToken"/> is cancelled: an engine that can stop a graph in flight does; the others are
    /// checked before and after the run (outputs of a run cancelled meanwhile are freed). Cancelled, it throws
    /// <see cref="OperationCanceledException"/>; the consumed inputs are disposed all the same.</summary>
    IReadOnlyDictionary<string, IEngineTensor> RunResident(IReadOnlyDictionary<string, IEngineTensor> inputs, IReadOnlyCollection<string> consumed,
        CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            foreach (var name in consumed) if (inputs.TryGetValue(name, out var t)) t.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
        }
        var outputs = RunResident(inputs, consumed);
        if (cancellationToken.IsCancellationRequested)
        {
            foreach (var t in outputs.Values) t.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
        }
        return outputs;
    }
}
