using System.Diagnostics;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Onnx;

namespace VisualGen.Exporter.Export;

/// <summary>
/// Exports and builds a model's components on first use, through the engine cache: a component that was built
/// before (same graph, weights, backend, device, precision, shapes, exporter version) is loaded without exporting.
/// Component names are model_index.json's ("transformer", "text_encoder") with a part for multi-graph components
/// ("vae.decoder", "vae.encoder").
/// </summary>
public sealed class EngineProvider(EngineCache cache, IEngineBackend backend, ComponentExporterRegistry exporters, EngineBuildOptions? options = null)
    : IEngineProvider, IDisposable
{
    readonly EngineBuildOptions _options = options ?? new EngineBuildOptions { Opset = OnnxWriter.Opset };
    readonly List<IEngine> _loaded = [];

    public EngineCache Cache => cache;

    /// <summary>Backends for particular component folders ("transformer"), overriding the default backend (for
    /// example the native CUDA engine for the DiT while encoders and the VAE run on ONNX Runtime).</summary>
    public IReadOnlyDictionary<string, IEngineBackend> ComponentBackends { get; init; } = new Dictionary<string, IEngineBackend>();

    /// <summary>Receives export/build lines when a caller passes no progress of its own.</summary>
    public IProgress<string>? Log { get; init; }
    public IEngineBackend Backend => backend;

    /// <summary>What the last <see cref="Prepare"/> did per component, for summaries.</summary>
    public sealed record ComponentReport(string Component, bool Hit, long GraphBytes, double Seconds, int Nodes, string EntryDirectory);

    public IEngine GetEngine(string modelPath, string component, IProgress<string>? progress)
    {
        var (engine, _) = Prepare(modelPath, component, progress);
        return engine;
    }

    /// <summary>Exports (on a miss) and loads one component; returns the engine and what happened.</summary>
    public (IEngine Engine, ComponentReport Report) Prepare(string modelPath, string component, IProgress<string>? progress)
    {
        progress ??= Log;
        var clock = Stopwatch.StartNew();
        var index = ModelIndex.Load(modelPath);
        string folder = component.Split('.')[0];
        string part = component.Contains('.') ? component[(component.IndexOf('.') + 1)..] : "";
        var exporter = exporters.Get(index, folder);
        if (!exporter.Parts.Contains(part))
            throw new CheckpointException(index.FilePath, $"component '{folder}' ({exporter.ClassName}) has no part '{part}' (parts: {string.Join(", ", exporter.Parts.Select(p => p.Length == 0 ? "(whole)" : p))})");
        string componentDir = index.ComponentDirectory(folder);

        using var weights = ComponentWeights.Open(componentDir);
        var graph = exporter.Trace(new TraceContext(index, folder, componentDir, weights, part));
        long graphBytes = graph.InitializerBytes;
        string? staging = null;
        var request = new EngineBuildRequest
        {
            Component = component,
            GraphHash = graph.StructureHash(),
            WeightFingerprint = WeightFingerprint.Of(componentDir),
            ExporterVersion = ExporterInfo.Version,
            Inputs = graph.Inputs.Select(Spec).ToList(),
            Outputs = graph.Outputs.Select(Spec).ToList(),
            Options = _options,
            WriteGraph = () =>
            {
                staging = Path.Combine(cache.Root, $".export-{Environment.ProcessId}-{Guid.NewGuid():N}");
                Directory.CreateDirectory(staging);
                string path = Path.Combine(staging, "model.onnx");
                progress?.Report($"exporting {component} ({graph.Nodes.Count} nodes, {graphBytes / 1e6:F1} MB of weights)");
                new OnnxWriter().Write(graph, path);
                return path;
            },
        };
        EngineCacheEntry entry;
        try { entry = cache.GetOrBuild(request, ComponentBackends.TryGetValue(folder, out var chosen) ? chosen : backend, progress); }
        finally { DeleteStaging(staging); }
        lock (_loaded) _loaded.Add(entry.Engine);
        return (entry.Engine, new ComponentReport(component, entry.Hit, graphBytes, clock.Elapsed.TotalSeconds, graph.Nodes.Count, entry.Directory));
    }

    public void Release(IEngine engine)
    {
        lock (_loaded) _loaded.Remove(engine);
        engine.Dispose();
    }

    /// <summary>Deletes this call's staging folder only: another build of this process (another provider on the same
    /// cache, or a concurrent call) may be writing its own .export folder right now.</summary>
    static void DeleteStaging(string? staging)
    {
        if (staging is null || !Directory.Exists(staging)) return;
        try { Directory.Delete(staging, recursive: true); } catch (IOException) { }
    }

    static EngineTensorSpec Spec(GraphPort p) => new(p.Value.Name, OnnxTypes.Name(p.Value.DType), p.Dims);

    /// <summary>The components a model exports: every present component with a registered exporter, with its parts.</summary>
    public IReadOnlyList<string> ComponentsOf(string modelPath)
    {
        var index = ModelIndex.Load(modelPath);
        var list = new List<string>();
        foreach (var c in index.Components.Values.Where(c => c.IsPresent))
            if (exporters.TryGet(c.ClassName!, out var e))
                list.AddRange(e.Parts.Select(p => p.Length == 0 ? c.Name : $"{c.Name}.{p}"));
        return list;
    }

    public void Dispose()
    {
        lock (_loaded)
        {
            foreach (var e in _loaded) e.Dispose();
            _loaded.Clear();
        }
    }
}
