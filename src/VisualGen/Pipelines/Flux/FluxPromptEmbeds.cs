using VisualGen.Tensors;

namespace VisualGen.Pipelines.Flux;

/// <summary>encode_prompt's results: T5 states [1, seq, dim], CLIP pooled [1, dim], text_ids [seq, 3].</summary>
public sealed record FluxPromptEmbeds(HostTensor PromptEmbeds, HostTensor PooledPromptEmbeds, HostTensor TextIds);
