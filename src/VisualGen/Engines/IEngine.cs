using VisualGen.Tensors;

namespace VisualGen.Engines;

/// <summary>A compiled graph for one backend and device. Backends know nothing of models: they run graphs.</summary>
public interface IEngine : IDisposable
{
    EngineManifest Manifest { get; }

    /// <summary>Runs the graph on named host inputs; returns every graph output by name.</summary>
    IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs);

    /// <summary>Runs the graph and returns only the outputs named in <paramref name="outputs"/>: an engine that computes on
    /// a device copies just those to the host (a Wan-family VAE decoder's first chunk also outputs its feature caches,
    /// gigabytes at 1024², which an image pipeline never reads).</summary>
    IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs, IReadOnlyCollection<string> outputs) =>
        Run(inputs).Where(kv => outputs.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    /// <summary>Runs the graph (every output, or those named in <paramref name="outputs"/>) unless <paramref name="cancellationToken"/>
    /// is cancelled: an engine that can stop a graph in flight does (ONNX Runtime ends the run between nodes); the others,
    /// whose runs are short (the native engine's GPU launches), are checked before and after the run. Cancelled, it throws
    /// <see cref="OperationCanceledException"/> and returns nothing.</summary>
    IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs, IReadOnlyCollection<string>? outputs,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var result = outputs is null ? Run(inputs) : Run(inputs, outputs);
        cancellationToken.ThrowIfCancellationRequested();
        return result;
    }

    /// <summary>Every output, unless <paramref name="cancellationToken"/> is cancelled (see <see cref="Run(IReadOnlyDictionary{string, HostTensor}, IReadOnlyCollection{string}?, CancellationToken)"/>).</summary>
    IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs, CancellationToken cancellationToken) =>
        Run(inputs, null, cancellationToken);

    /// <summary>GPU memory the engine holds now (weights, planned buffers); 0 for engines that compute on the host.</summary>
    long DeviceBytes => 0;

    /// <summary>The part of <see cref="DeviceBytes"/> in memory the engines of one device share (the native engine's
    /// activation arena, sized for the largest plan that runs): engines loaded together hold the sum of the rest plus
    /// the largest of these (<see cref="HeldTogether"/>).</summary>
    long SharedDeviceBytes => 0;

    /// <summary>GPU memory of the tensors the engines of this engine's device hold between runs: outputs handed out and
    /// not yet freed (a generation's latents, a VAE's feature caches) and buffers kept for their reuse. One amount per
    /// device, read through any of its engines; not part of <see cref="DeviceBytes"/>. 0 for engines that compute on the
    /// host.</summary>
    long TensorDeviceBytes => 0;

    /// <summary>The engine's GPU memory as its own bytes and its shared ones (<see cref="SharedDeviceBytes"/>).</summary>
    (long Own, long Shared) DeviceSizes => (DeviceBytes - SharedDeviceBytes, SharedDeviceBytes);

    /// <summary>GPU memory a set of engines holds together: their own bytes, and their shared memory once.</summary>
    static long HeldTogether(IEnumerable<IEngine> engines) => HeldTogether(engines.Select(e => e.DeviceSizes));

    /// <summary><see cref="HeldTogether(IEnumerable{IEngine})"/> of engines given by their <see cref="DeviceSizes"/>.</summary>
    static long HeldTogether(IEnumerable<(long Own, long Shared)> sizes)
    {
        long own = 0, shared = 0;
        foreach (var (o, s) in sizes)
        {
            own += o;
            shared = Math.Max(shared, s);
        }
        return own + shared;
    }
}
