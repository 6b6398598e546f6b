using VisualGen.Tensors;

namespace VisualGen.Engines;

/// <summary>Engine tensors that live for one stretch of work (a denoising loop's latents, inputs and timesteps), disposed
/// together, also when the work fails.</summary>
public sealed class EngineTensorScope : IDisposable
{
    readonly List<IEngineTensor> _tensors = [];

    /// <summary>Takes <paramref name="tensor"/> into the scope and returns it.</summary>
    public T Own<T>(T tensor) where T : IEngineTensor
    {
        _tensors.Add(tensor);
        return tensor;
    }

    /// <summary>Uploads each host tensor to where <paramref name="engine"/> computes, into the scope, under its name.</summary>
    public Dictionary<string, IEngineTensor> Upload(IResidentEngine engine, IReadOnlyDictionary<string, HostTensor> tensors) =>
        tensors.ToDictionary(kv => kv.Key, kv => (IEngineTensor)Own(engine.Upload(kv.Value)));

    public void Dispose()
    {
        foreach (var t in _tensors) t.Dispose();
        _tensors.Clear();
    }
}
