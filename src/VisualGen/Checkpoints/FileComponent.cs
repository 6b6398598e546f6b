namespace VisualGen.Checkpoints;

/// <summary>
/// A component stored inside a monolithic safetensors file (LTX-2's <c>ltx-2-19b-dev.safetensors</c> holds the
/// transformer, the text connectors, both VAEs and the vocoder): its diffusers config, mapped from the header's
/// metadata, and how to open its weights under diffusers' names (a view over the memory-mapped file, no copies).
/// </summary>
/// <param name="File">The monolithic file.</param>
/// <param name="Config">The diffusers config the component's loaders read.</param>
/// <param name="OpenWeights">Opens the component's tensors under diffusers' names; the caller disposes them.</param>
public sealed record FileComponent(string File, ComponentConfig Config, Func<ITensorSource> OpenWeights);
