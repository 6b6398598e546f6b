using System.Diagnostics;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Onnx;
using VisualGen.Exporter.Quantization;
using VisualGen.Quantization;

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
    // each loaded engine with its entry's use lock (released with the engine: until then the entry is not pruned)
    readonly List<(IEngine Engine, IDisposable? InUse)> _loaded = [];

    public EngineCache Cache => cache;

    /// <summary>Backends for particular component classes (model_index.json's class name, "WanTransformer3DModel"),
    /// overriding the default backend (for example the native CUDA engine for the classes it runs while the others
    /// run on ONNX Runtime).</summary>
    public IReadOnlyDictionary<string, IEngineBackend> ClassBackends { get; init; } = new Dictionary<string, IEngineBackend>();

    /// <summary>GPU memory the engines of one pipeline may hold together (<c>--gpu-memory</c>); null: no limit.</summary>
    public long? GpuMemoryBudget { get; init; }

    /// <summary>Receives export/build lines when a caller passes no progress of its own.</summary>
    public IProgress<string>? Log { get; init; }

    /// <summary>Stops the exports and builds that <see cref="GetEngine"/> starts (a pipeline's engine requests, which
    /// carry no token of their own) as <see cref="Prepare"/>'s token does: cancelled, a component being exported or
    /// waiting for another process's build lock ends with an OperationCanceledException and leaves no temporary folder.
    /// The token of whoever owns the provider for its lifetime (generate: its Ctrl+C); none by default.</summary>
    public CancellationToken Cancellation { get; init; }
    public IEngineBackend Backend => backend;

    /// <summary>Dynamic quantization of the diffusion transformers' linears at build time (the CLI's
    /// <c>--quant-algo</c>, the API, the server's model config); null: none. A checkpoint that carries its own
    /// <c>quantization_config</c> is loaded as it is stored, and refuses this.</summary>
    public QuantizationConfig? DynamicQuantization { get; init; }

    /// <summary>The quantization a component is traced with: its checkpoint's <c>quantization_config</c> (static), else
    /// <see cref="DynamicQuantization"/> for components that quantize; null for the others.</summary>
    public (QuantizationConfig Config, bool FromCheckpoint)? QuantizationOf(ComponentExporter exporter, string component, string componentDir)
    {
        var stored = QuantizationConfig.FromComponentConfig(Path.Combine(componentDir, "config.json"));
        if (stored is not null)
        {
            if (!exporter.Quantizable)
                throw new QuantizationException($"{componentDir}: component '{component}' ({exporter.ClassName}) has a quantization_config, but VisualGen quantizes only the diffusion transformers' linears");
            if (DynamicQuantization is not null)
                throw new QuantizationRequestException($"{componentDir}: component '{component}' is already quantized ({stored.Algo.Name}); dynamic quantization ({DynamicQuantization.Algo.Name}) takes unquantized checkpoints");
            return (stored, true);
        }
        return Dynamic(exporter);
    }

    /// <summary><see cref="DynamicQuantization"/> for a component that quantizes; null for the others or without it.</summary>
    (QuantizationConfig Config, bool FromCheckpoint)? Dynamic(ComponentExporter exporter) =>
        DynamicQuantization is not null && exporter.Quantizable ? (DynamicQuantization, false) : null;

    /// <summary>The backend that builds and runs components of this class: its <see cref="ClassBackends"/> entry, else
    /// <see cref="Backend"/>.</summary>
    public IEngineBackend BackendOf(string className) => ClassBackends.TryGetValue(className, out var own) ? own : backend;

    /// <summary>The quantization <see cref="Prepare"/> traces a component of <paramref name="index"/> with: <see cref="QuantizationOf"/>
    /// for a component folder; for a component inside a monolithic file (LTX-2), whose config carries none,
    /// <see cref="DynamicQuantization"/> where the component quantizes.</summary>
    (QuantizationConfig Config, bool FromCheckpoint)? QuantizationIn(ModelIndex index, ComponentExporter exporter, string folder) =>
        index.InFile(folder) is null ? QuantizationOf(exporter, folder, index.ComponentDirectory(folder)) : Dynamic(exporter);

    /// <summary>How a component of a model is built, as <see cref="Prepare"/> decides it: the backend and the quantization
    /// (null: none; <see cref="ComponentBuild.FromCheckpoint"/> when the checkpoint's <c>quantization_config</c> gave it).</summary>
    public sealed record ComponentBuild(string Component, string ClassName, IEngineBackend Backend, QuantizationConfig? Quantization, bool FromCheckpoint);

    /// <summary>How the component <paramref name="component"/> (model_index.json's name: "transformer", "vae") of
    /// <paramref name="modelPath"/> is built (<see cref="BackendOf"/>, <see cref="QuantizationIn"/>: what <see cref="Prepare"/>
    /// uses), without tracing or building it; null when the model has no such component or no exporter for its class.</summary>
    public ComponentBuild? BuildOf(string modelPath, string component)
    {
        var index = ModelIndex.Load(modelPath);
        if (!index.Components.TryGetValue(component, out var c) || !c.IsPresent || !exporters.TryGet(c.ClassName!, out var exporter)) return null;
        var quantization = QuantizationIn(index, exporter, component);
        return new ComponentBuild(component, exporter.ClassName, BackendOf(exporter.ClassName), quantization?.Config, quantization?.FromCheckpoint ?? false);
    }

    /// <summary>What the last <see cref="Prepare"/> did per component, for summaries.</summary>
    public sealed record ComponentReport(string Component, bool Hit, long GraphBytes, double Seconds, int Nodes, string EntryDirectory);

    public IEngine GetEngine(string modelPath, string component, IProgress<string>? progress)
    {
        var (engine, _) = Prepare(modelPath, component, progress, Cancellation);
        return engine;
    }

    /// <summary>Exports (on a miss) and loads one component; returns the engine and what happened. The cache key is
    /// looked up in the cache's <see cref="EngineKeyIndex"/> by the component's <see cref="EngineSourceKey"/> first,
    /// so a hit traces nothing; without a usable record (first use, changed source, stale or unreadable record, entry
    /// missing or corrupt) the component is traced as before and the record written. <paramref name="cancellation"/>
    /// stops it between its stages and between the exported graph's initializers, with the export's and the build's
    /// temporary folders removed (OperationCanceledException); a backend's build itself runs to its end.</summary>
    public (IEngine Engine, ComponentReport Report) Prepare(string modelPath, string component, IProgress<string>? progress,
        CancellationToken cancellation = default)
    {
        cancellation.ThrowIfCancellationRequested();
        progress ??= Log;
        var clock = Stopwatch.StartNew();
        var index = ModelIndex.Load(modelPath);
        string folder = component.Split('.')[0];
        string part = component.Contains('.') ? component[(component.IndexOf('.') + 1)..] : "";
        var exporter = exporters.Get(index, folder);
        if (!exporter.HasPart(part))
            throw new CheckpointException(index.FilePath, $"component '{folder}' ({exporter.ClassName}) has no part '{part}' (parts: {string.Join(", ", exporter.Parts.Select(p => p.Length == 0 ? "(whole)" : p))})");
        // a component inside a monolithic file (LTX-2) is traced from the file: its config mapped from the metadata,
        // its weights a renaming view; errors name the file
        var inFile = index.InFile(folder);
        string componentDir = inFile?.File ?? index.ComponentDirectory(folder);
        var chosen = BackendOf(exporter.ClassName);
        var quantization = QuantizationIn(index, exporter, folder);
        var options = _options with { Quantization = quantization?.Item1.KeyText ?? "" };
        if (DynamicQuantization is not null && !exporter.Quantizable)
            progress?.Report($"{component}: not quantized ({exporter.ClassName}; {DynamicQuantization.Algo.Name} quantizes the diffusion transformers' linears)");

        var memo = new WeightHashMemo(cache.Root);
        string configJson = inFile?.Config.Root.GetRawText() ?? "";
        string fingerprint = inFile is null
            ? WeightFingerprint.Compute(componentDir, memo, progress, folder).Value
            : WeightFingerprint.ComputeInFile(inFile.File, folder, configJson, memo, progress).Value;
        cancellation.ThrowIfCancellationRequested();
        var source = inFile is null
            ? EngineSourceKey.Of(index, component, componentDir, exporter, fingerprint, ExporterInfo.Version, chosen, options)
            : EngineSourceKey.OfFileComponent(index, component, inFile.File, configJson, exporter, fingerprint, ExporterInfo.Version, chosen, options);
        string sourceKey = source.Hash();
        var keys = new EngineKeyIndex(cache.Root);
        if (keys.Read(source, sourceKey, out var knownParts, out string why) is { } known)
        {
            if (cache.TryLoad(component, knownParts!, chosen, progress, out string? problem) is { } found)
                return Loaded(found, new ComponentReport(component, true, known.InitializerBytes, clock.Elapsed.TotalSeconds, known.Nodes, found.Directory));
            why = problem is null ? $"the entry of {component} it names is not in the cache" : $"the entry of {component} it names is not usable ({problem})";
        }
        progress?.Report($"engine key index: {why}; tracing {component}");
        var linears = quantization is { } q ? new QuantizedLinears(q.Item1, q.Item2, progress) : null;
        return TraceAndGet(index, folder, part, component, componentDir, exporter, fingerprint, chosen, options, linears, source, sourceKey, keys, progress, clock, cancellation);
    }

    (IEngine, ComponentReport) TraceAndGet(ModelIndex index, string folder, string part, string component, string componentDir,
        ComponentExporter exporter, string fingerprint, IEngineBackend chosen, EngineBuildOptions options, QuantizedLinears? linears,
        EngineSourceKey source, string sourceKey,
        EngineKeyIndex keys, IProgress<string>? progress, Stopwatch clock, CancellationToken cancellation)
    {
        using var weights = index.OpenTensors(folder);
        var graph = Traced(() => exporter.Trace(new TraceContext(index, folder, componentDir, weights, part, linears)), component, componentDir, exporter);
        cancellation.ThrowIfCancellationRequested();
        if (linears is not null)
        {
            // a step-cache part holds some of the transformer's linears (and a whole graph may trace some its outputs do
            // not read): count those the outputs depend on
            var names = graph.LiveInitializers().Select(i => i.Value.Name).ToHashSet(StringComparer.Ordinal);
            int kept = linears.Quantized.Count(p => names.Contains(p + ".weight"));
            progress?.Report($"{component}: {kept} linear(s) quantized ({linears.Config.Algo.Name}, {(linears.FromCheckpoint ? "stored in the checkpoint" : "quantized now")}), {linears.Unquantized.Count} left unquantized");
        }

        long graphBytes = graph.InitializerBytes;
        string? staging = null;
        EngineBuildRequest request = null!;
        request = new EngineBuildRequest
        {
            Component = component,
            GraphHash = graph.StructureHash(),
            WeightFingerprint = fingerprint,
            ExporterVersion = ExporterInfo.Version,
            Inputs = graph.Inputs.Select(Spec).ToList(),
            Outputs = graph.Outputs.Select(Spec).ToList(),
            Options = options,
            WriteGraph = () =>
            {
                // named as the build's temporary folder: a build killed while exporting left ".export-<pid>-<guid>",
                // which nothing removed; this one the next build of the entry or cache prune removes
                staging = cache.StagingDirectory(request, chosen);
                Directory.CreateDirectory(staging);
                string path = Path.Combine(staging, "model.onnx");
                progress?.Report($"exporting {component} ({graph.Nodes.Count} nodes, {graphBytes / 1e6:F1} MB of weights)");
                // a backend that reads checkpoint references gets a graph without a copy of the checkpoint's weights;
                // a gigabyte or more (FP8 weights quantized while they are written, a copy of a checkpoint) reports its progress
                IProgress<double>? written = graphBytes >= 1L << 30 && progress is not null
                    ? new StepProgress(f => progress.Report(FormattableString.Invariant($"exporting {component}: {f * 100:F0} % of {graphBytes / 1e9:F1} GB")))
                    : null;
                if (cancellation.CanBeCanceled) written = new CancellableProgress(written, cancellation);
                new OnnxWriter { ReferenceCheckpoint = chosen.ReadsCheckpointReferences }.Write(graph, path, written);
                return path;
            },
        };
        EngineCacheEntry entry;
        try { entry = cache.GetOrBuild(request, chosen, progress, cancellation); }
        finally { DeleteStaging(staging); }
        var found = Loaded(entry, new ComponentReport(component, entry.Hit, graphBytes, clock.Elapsed.TotalSeconds, graph.Nodes.Count, entry.Directory));
        Record(keys, source, sourceKey, entry, request.GraphHash, graph.Nodes.Count, graphBytes, progress);
        return found;
    }

    (IEngine, ComponentReport) Loaded(EngineCacheEntry entry, ComponentReport report)
    {
        lock (_loaded) _loaded.Add((entry.Engine, entry.InUse));
        return (entry.Engine, report);
    }

    /// <summary>Writes the key index record of a traced component; files written moments ago are not recorded (their
    /// write time may not yet tell a second write apart), nor is anything on a cache folder that cannot be written.</summary>
    static void Record(EngineKeyIndex keys, EngineSourceKey source, string sourceKey, EngineCacheEntry entry, string graphHash,
        int nodes, long graphBytes, IProgress<string>? progress)
    {
        if (!source.Settled)
        {
            progress?.Report($"engine key index: not recording {source.Component}: a file of {source.ComponentDirectory} was written less than {FileState.SettleTime.TotalSeconds:0} s ago");
            return;
        }
        try
        {
            keys.Write(new EngineKeyIndex.Record
            {
                SourceKey = sourceKey, Component = source.Component, Key = entry.Manifest.Key, GraphHash = graphHash,
                Nodes = nodes, InitializerBytes = graphBytes,
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            progress?.Report($"engine key index: could not record {source.Component} in {keys.Directory} ({e.Message}); the next run traces it again");
        }
    }

    public void Release(IEngine engine)
    {
        IDisposable? inUse = null;
        lock (_loaded)
        {
            int i = _loaded.FindIndex(l => ReferenceEquals(l.Engine, engine));
            if (i >= 0) { inUse = _loaded[i].InUse; _loaded.RemoveAt(i); }
        }
        engine.Dispose();
        inUse?.Dispose();
    }

    /// <summary>Deletes this call's staging folder only: another build of this process (another provider on the same
    /// cache, or a concurrent call) may be writing its own .export folder right now.</summary>
    static void DeleteStaging(string? staging)
    {
        if (staging is null || !Directory.Exists(staging)) return;
        try { Directory.Delete(staging, recursive: true); } catch (IOException) { }
    }

    static EngineTensorSpec Spec(GraphPort p) => new(p.Value.Name, OnnxTypes.Name(p.Value.DType), p.Dims);

    /// <summary>Traces a component; a failure of the model code itself on what the checkpoint gave it (a config value it
    /// cannot take: a negative layer count, zero heads, a patch size of 0 — checks name most, this catches the rest) is an
    /// error naming the component and its config, not a crash with a stack trace.</summary>
    static T Traced<T>(Func<T> trace, string component, string componentDir, ComponentExporter exporter)
    {
        try { return trace(); }
        catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or DivideByZeroException or OverflowException
                                      or InvalidOperationException or NullReferenceException or KeyNotFoundException)
        {
            string config = Directory.Exists(componentDir) ? Path.Combine(componentDir, "config.json") : componentDir;
            throw new CheckpointException(config,
                $"{exporter.ClassName} ({component}) cannot be built from this config: {e.GetType().Name}: {e.Message} (is a size, count or list in it out of range?)", e);
        }
    }

    /// <summary>What can be checked before any component of <paramref name="modelPath"/> is traced or hashed: the
    /// backends (<see cref="CheckBackends"/>), then for every component the model exports the quantization it would be
    /// built with (<see cref="QuantizationIn"/>: a checkpoint's <c>quantization_config</c> with an unknown
    /// <c>quant_method</c> or <c>quant_algo</c>, on a component that does not quantize, or under dynamic quantization) and
    /// its weights (the safetensors headers and tensor tables; no tensor is read). Each is refused now, naming the file,
    /// rather than when that component's engine is first needed: a truncated VAE after the whole denoising loop.</summary>
    public void CheckReady(string modelPath)
    {
        CheckBackends();
        var index = ModelIndex.Load(modelPath);
        var quantized = new List<string>();
        var names = new List<string>();
        foreach (var c in index.Components.Values.Where(c => c.IsPresent))
        {
            if (!exporters.TryGet(c.ClassName!, out var e)) continue;
            var quantization = QuantizationIn(index, e, c.Name);  // a quantization_config it cannot take is refused here
            using var tensors = index.OpenTensors(c.Name);
            if (quantization is { FromCheckpoint: false }) { quantized.Add(c.Name); names.AddRange(tensors.Names); }
        }
        // the user's ignore patterns (a checkpoint's own list may name modules it lacks): one that matches no module is a
        // typo that ignores nothing, and every linear was quantized without a word
        if (quantized.Count > 0 && DynamicQuantization!.Unmatched(names) is { Count: > 0 } unmatched)
            throw new UnmatchedIgnorePatternsException(unmatched, $"quantization ignore pattern(s) {string.Join(", ", unmatched.Select(p => $"'{p}'"))} match no module of " +
                $"{string.Join(", ", quantized.Select(c => $"'{c}'"))} ({QuantizationConfig.PatternSyntax})");
    }

    /// <summary>Refuses, before anything is traced or hashed, a backend that cannot run here (<see cref="IEngineBackend.Unavailable"/>:
    /// the native CUDA library or ONNX Runtime's CUDA provider missing), rather than after the first component's weights
    /// were hashed.</summary>
    public void CheckBackends()
    {
        foreach (var b in ClassBackends.Values.Prepend(backend).Distinct())
            if (b.Unavailable is { } why) throw new EngineException(why);
    }

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
            foreach (var (engine, inUse) in _loaded)
            {
                engine.Dispose();
                inUse?.Dispose();
            }
            _loaded.Clear();
        }
    }
}
