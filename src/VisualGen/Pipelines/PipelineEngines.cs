using VisualGen.Engines;

namespace VisualGen.Pipelines;

/// <summary>A pipeline's engines, loaded from its provider on first use and kept until released.</summary>
public sealed class PipelineEngines(string modelDir, IEngineProvider provider, IProgress<string>? log = null)
{
    readonly Dictionary<string, IEngine> _loaded = [];

    public IEngine Get(string component)
    {
        lock (_loaded)
        {
            if (!_loaded.TryGetValue(component, out var e))
                _loaded[component] = e = provider.GetEngine(modelDir, component, log);
            return e;
        }
    }

    /// <summary>Frees <paramref name="component"/>'s engine if it is loaded (a later Get loads it again).</summary>
    public void Release(string component)
    {
        IEngine? engine;
        lock (_loaded)
            if (!_loaded.Remove(component, out engine)) return;
        provider.Release(engine);
    }

    /// <summary>Forgets the engines; they belong to the provider, which disposes them.</summary>
    public void Clear()
    {
        lock (_loaded) _loaded.Clear();
    }
}
