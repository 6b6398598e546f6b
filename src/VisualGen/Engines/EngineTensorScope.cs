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

    public void Dispose()
    {
        foreach (var t in _tensors) t.Dispose();
        _tensors.Clear();
    }
}
