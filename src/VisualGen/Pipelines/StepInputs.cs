using VisualGen.Engines;
using VisualGen.Tensors;

namespace VisualGen.Pipelines;

/// <summary>
/// A denoising model's inputs that are the same at every step (text embeddings, image tokens): on an engine whose
/// tensors can stay where it computes (<see cref="IResidentEngine"/>), they are uploaded once per engine and reused,
/// so a step moves only its latents and timestep in and its prediction out (an engine computing on the host gets host
/// tensors through <see cref="ResidentEngines.AsResident"/>).
/// </summary>
public sealed class StepInputs(IReadOnlyDictionary<string, HostTensor> constant) : IDisposable
{
    readonly Dictionary<(IEngine Engine, string Name), IEngineTensor> _resident = [];

    /// <summary>Runs <paramref name="engine"/> on the constant inputs plus <paramref name="perStep"/>; returns <paramref name="output"/> on the host.
    /// A cancelled <paramref name="cancellationToken"/> stops the run (<see cref="IResidentEngine.RunResident(IReadOnlyDictionary{string, IEngineTensor}, IReadOnlyCollection{string}, CancellationToken)"/>).</summary>
    public HostTensor Run(IEngine engine, IReadOnlyDictionary<string, HostTensor> perStep, string output, CancellationToken cancellationToken = default)
    {
        var resident = engine.AsResident();
        using var uploads = new EngineTensorScope();
        var inputs = uploads.Upload(resident, perStep);
        using var result = Invoke(engine, resident, inputs, output, cancellationToken);
        return result.ToHost();
    }

    /// <summary>Runs <paramref name="engine"/> on the constant inputs plus <paramref name="perStep"/>, all where it
    /// computes; returns <paramref name="output"/> there (the caller disposes it). Nothing crosses to the host.</summary>
    public IEngineTensor RunResident(IEngine engine, IReadOnlyDictionary<string, IEngineTensor> perStep, string output,
        CancellationToken cancellationToken = default) =>
        Invoke(engine, engine.AsResident(), perStep, output, cancellationToken);

    /// <summary>The constant input <paramref name="name"/> where <paramref name="engine"/> computes (uploaded on first use,
    /// owned by this object), or null when it is not one of the constants.</summary>
    public IEngineTensor? Resident(IEngine engine, string name)
    {
        if (!constant.TryGetValue(name, out var value)) return null;
        if (!_resident.TryGetValue((engine, name), out var t))
        {
            var resident = engine.AsResident();
            // an input the engine reads on the host (position ids) stays there: uploading it would mean a read-back per call
            _resident[(engine, name)] = t = resident.ReadsOnHost(name) ? new HostResidentTensor(value) : resident.Upload(value);
        }
        return t;
    }

    IEngineTensor Invoke(IEngine engine, IResidentEngine resident, IReadOnlyDictionary<string, IEngineTensor> perStep, string output,
        CancellationToken cancellationToken)
    {
        var inputs = new Dictionary<string, IEngineTensor>(perStep);
        foreach (var name in constant.Keys) inputs[name] = Resident(engine, name)!;
        return resident.RunResident(inputs, output, cancellationToken);
    }

    public void Dispose()
    {
        foreach (var t in _resident.Values) t.Dispose();
        _resident.Clear();
    }
}
