namespace VisualGen.Engines;

/// <summary>
/// Gives a pipeline the engine of one of its components (for example "transformer" or "vae_decoder"),
/// exporting and building it on first use. The exporter implements it over the engine cache.
/// </summary>
public interface IEngineProvider
{
    /// <summary>The engine for <paramref name="component"/> of the model at <paramref name="modelPath"/>;
    /// <paramref name="progress"/> receives one line per export/build step.</summary>
    IEngine GetEngine(string modelPath, string component, IProgress<string>? progress);

    IEngine GetEngine(string modelPath, string component) => GetEngine(modelPath, component, null);

    /// <summary>GPU memory the engines of one pipeline may hold together (null: no limit); see PipelineEngines.</summary>
    long? GpuMemoryBudget => null;

    /// <summary>Where the provider's lines go when a caller passes no progress of its own (engine cache hits, builds);
    /// a pipeline's engine releases under <see cref="GpuMemoryBudget"/> are reported there too.</summary>
    IProgress<string>? Log => null;

    /// <summary>Frees an engine this provider gave out (for example the Wan 2.2 expert no longer in use).</summary>
    void Release(IEngine engine) => engine.Dispose();
}
