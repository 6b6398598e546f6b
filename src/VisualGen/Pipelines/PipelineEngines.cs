using VisualGen.Engines;

namespace VisualGen.Pipelines;

/// <summary>
/// A pipeline's engines, loaded from its provider on first use and kept until released — within the provider's GPU
/// memory budget (<see cref="IEngineProvider.GpuMemoryBudget"/>, <c>--gpu-memory</c>). Pipelines mark their stages
/// (<see cref="BeginStage"/>: encode, denoise, decode); when an engine would not fit, engines not used in the current
/// stage are released, least recently used first (diffusers' model offload: a later stage's engines are loaded again
/// from the engine cache). A stage whose own engines do not fit together is refused with what it needs. The budget
/// counts the tensors the device holds between engine runs too (<see cref="IEngine.TensorDeviceBytes"/>: the latents,
/// a VAE's feature caches) and is checked on every request, for a loaded engine as well: engines grow once their plans
/// exist. What it does not bound: an engine's first run in a process (its activation need is known once it has run;
/// the next request makes room for it), and the CUDA context.
/// </summary>
public sealed class PipelineEngines(string modelDir, IEngineProvider provider, IProgress<string>? log = null)
{
    readonly Dictionary<string, (IEngine Engine, long LastUse, int Stage)> _loaded = [];
    readonly Dictionary<string, (long Own, long Shared)> _knownBytes = [];   // device bytes each component held when last seen
    long _clock;
    int _stage;
    string _stageName = "";

    /// <summary>The components loaded now (for tests and logs).</summary>
    public IReadOnlyCollection<string> Loaded { get { lock (_loaded) return _loaded.Keys.ToList(); } }

    /// <summary>Starts a stage: engines used from now on are the stage's own; earlier ones may be released for them.</summary>
    public void BeginStage(string name)
    {
        lock (_loaded) { _stage++; _stageName = name; }
    }

    public IEngine Get(string component)
    {
        lock (_loaded)
        {
            long? budget = provider.GpuMemoryBudget;
            if (_loaded.TryGetValue(component, out var e))
            {
                _loaded[component] = (e.Engine, ++_clock, _stage);
                // loaded engines grow after they load (their activation needs are known once they have run) and so do
                // the tensors a generation holds: an engine of this stage asked for again releases earlier stages'
                // engines that no longer fit beside it (a later generation's stages then load in turn)
                if (budget is long held) MakeRoom(held, default, component);
                return e.Engine;
            }
            if (budget is long b) MakeRoom(b, _knownBytes.GetValueOrDefault(component), component);
            var engine = provider.GetEngine(modelDir, component, log);
            _loaded[component] = (engine, ++_clock, _stage);
            if (budget is long b2)
            {
                MakeRoom(b2, default, component);
                long tensors = TensorBytes();
                long stageBytes = IEngine.HeldTogether(_loaded.Values.Where(v => v.Stage == _stage).Select(v => v.Engine)) + tensors;
                if (stageBytes > b2)
                {
                    var stage = _loaded.Where(kv => kv.Value.Stage == _stage).ToList();
                    long shared = stage.Select(kv => kv.Value.Engine.SharedDeviceBytes).DefaultIfEmpty(0).Max();
                    var names = stage.Select(kv => $"{kv.Key} {Gib(kv.Value.Engine.DeviceSizes.Own)}").ToList();
                    if (shared > 0) names.Add($"{Gib(shared)} of activations they share");
                    if (tensors > 0) names.Add($"{Gib(tensors)} of tensors the generation holds");
                    Release(component);
                    throw new GpuMemoryException($"the {_stageName} stage needs {string.Join(" + ", names)} = {Gib(stageBytes)} of GPU memory at once; " +
                        $"--gpu-memory is {Gib(b2)}: set it to at least {Math.Ceiling(stageBytes / (double)(1L << 30) * 100) / 100:0.##} GiB");
                }
            }
            return engine;
        }
    }

    /// <summary>Releases engines of earlier stages, least recently used first, until <paramref name="incoming"/> (an engine's
    /// own bytes and its shared ones, counted once with the loaded engines') fits beside the tensors the device holds
    /// (releasing an engine may free idle ones).</summary>
    void MakeRoom(long budget, (long Own, long Shared) incoming, string forComponent)
    {
        long Resident() => IEngine.HeldTogether(_loaded.Values.Select(v => v.Engine.DeviceSizes).Append(incoming)) + TensorBytes();
        while (Resident() > budget)
        {
            var victim = _loaded.Where(kv => kv.Value.Stage != _stage && kv.Key != forComponent).OrderBy(kv => kv.Value.LastUse).Select(kv => kv.Key).FirstOrDefault();
            if (victim is null) return;
            (log ?? provider.Log)?.Report($"GPU memory budget {Gib(budget)}: releasing {victim} ({Gib(_loaded[victim].Engine.DeviceBytes)}) for {forComponent}");
            Release(victim);
        }
    }

    /// <summary>The device's resident tensors as the loaded engines report them (one amount per device: the largest).</summary>
    long TensorBytes() => _loaded.Values.Select(v => v.Engine.TensorDeviceBytes).DefaultIfEmpty(0).Max();

    static string Gib(long bytes) => $"{bytes / (double)(1L << 30):F2} GiB";

    /// <summary>Frees <paramref name="component"/>'s engine if it is loaded (a later Get loads it again).</summary>
    public void Release(string component)
    {
        IEngine? engine;
        lock (_loaded)
        {
            if (!_loaded.Remove(component, out var e)) return;
            engine = e.Engine;
            _knownBytes[component] = engine.DeviceSizes;
        }
        provider.Release(engine);
    }

    /// <summary>Forgets the engines; they belong to the provider, which disposes them.</summary>
    public void Clear()
    {
        lock (_loaded) _loaded.Clear();
    }
}

/// <summary>What a pipeline stage needs at once does not fit the GPU memory budget; the message says what to set.</summary>
public sealed class GpuMemoryException(string message) : EngineException(message);
