using VisualGen.Tensors;

namespace VisualGen.Engines;

/// <summary>A compiled graph for one backend and device. Backends know nothing of models: they run graphs.</summary>
public interface IEngine : IDisposable
{
    EngineManifest Manifest { get; }

    /// <summary>Runs the graph on named host inputs; returns every graph output by name.</summary>
    IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs);

    /// <summary>GPU memory the engine holds now (weights, planned buffers); 0 for engines that compute on the host.</summary>
    long DeviceBytes => 0;
}
