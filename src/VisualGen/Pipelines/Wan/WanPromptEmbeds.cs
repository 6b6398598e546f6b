using VisualGen.Tensors;

namespace VisualGen.Pipelines.Wan;

/// <summary>WanPipeline._get_t5_prompt_embeds after the encoder: each prompt's states are cut to its token count
/// (the attention mask's ones) and padded back to the full length with zeros.</summary>
public static class WanPromptEmbeds
{
    /// <param name="lastHiddenState">UMT5 output [batch, seq, dim].</param>
    /// <param name="attentionMask">the tokenizer's mask [batch, seq] (int64, 1 = token).</param>
    public static HostTensor ZeroPastPromptLength(HostTensor lastHiddenState, HostTensor attentionMask)
    {
        if (lastHiddenState.Rank != 3)
            throw new ArgumentException($"last hidden state must be [batch, seq, dim], got {lastHiddenState.ShapeText}", nameof(lastHiddenState));
        if (attentionMask.Rank != 2 || attentionMask.Shape[0] != lastHiddenState.Shape[0] || attentionMask.Shape[1] != lastHiddenState.Shape[1])
            throw new ArgumentException($"attention mask {attentionMask.ShapeText} does not match the hidden state {lastHiddenState.ShapeText} ([batch, seq])", nameof(attentionMask));
        long batch = lastHiddenState.Shape[0], seq = lastHiddenState.Shape[1], dim = lastHiddenState.Shape[2];
        var src = lastHiddenState.Floats;
        var mask = attentionMask.Longs;
        var result = new float[src.Length];
        for (long b = 0; b < batch; b++)
        {
            long length = 0;
            for (long s = 0; s < seq; s++) if (mask[b * seq + s] > 0) length++;
            Array.Copy(src, b * seq * dim, result, b * seq * dim, length * dim);
        }
        return HostTensor.Float32(result, lastHiddenState.Shape);
    }
}
