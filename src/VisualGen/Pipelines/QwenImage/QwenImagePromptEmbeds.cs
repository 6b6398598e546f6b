using VisualGen.Tensors;
using VisualGen.Tokenizers.QwenImage;

namespace VisualGen.Pipelines.QwenImage;

/// <summary>
/// QwenImagePipeline's prompt embeddings from the text encoder's last hidden state of one templated prompt:
/// the template's first <see cref="QwenImagePromptTokenizer.DropTokenCount"/> states (the system turn) are dropped,
/// and the rest cut to max_sequence_length. One prompt has no padding, so no mask is kept (diffusers drops an
/// all-ones mask).
/// </summary>
public static class QwenImagePromptEmbeds
{
    /// <param name="lastHiddenState">[1, tokens, dim]</param>
    public static HostTensor FromHiddenStates(HostTensor lastHiddenState, int maxSequenceLength)
    {
        if (lastHiddenState.Rank != 3 || lastHiddenState.Shape[0] != 1)
            throw new ArgumentException($"expected the hidden states of one prompt, [1, tokens, dim], got {lastHiddenState.ShapeText}", nameof(lastHiddenState));
        long tokens = lastHiddenState.Shape[1], dim = lastHiddenState.Shape[2];
        int drop = QwenImagePromptTokenizer.DropTokenCount;
        if (tokens <= drop)
            throw new ArgumentException($"the templated prompt has {tokens} tokens; the template alone has {drop}", nameof(lastHiddenState));
        long kept = Math.Min(tokens - drop, maxSequenceLength);
        var data = lastHiddenState.Floats.AsSpan((int)(drop * dim), (int)(kept * dim)).ToArray();
        return HostTensor.Float32(data, 1, kept, dim);
    }
}
