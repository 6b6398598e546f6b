using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>
/// Additive float attention masks as transformers builds them: 0 where attention is allowed, the float32 minimum
/// (torch.finfo(float32).min, not -inf, so a fully masked row stays finite) where it is not. Shapes broadcast to
/// [batch, heads, q_len, kv_len], the form the <c>Attention</c> node takes.
/// </summary>
public static class AttentionMasks
{
    public const float Min = float.MinValue;

    /// <summary>Padding mask from a [batch, kv_len] int64 attention_mask (1 = token, 0 = padding): [batch, 1, 1, kv_len].</summary>
    public static Tensor Padding(Tensor attentionMask) =>
        ((1f - attentionMask.Cast(TensorDType.F32)) * Min).Unsqueeze(1, 2);

    /// <summary>Causal mask over <paramref name="seqLen"/> positions (query i sees keys j ≤ i): [1, 1, seq, seq].</summary>
    public static Tensor Causal(Tracer t, Dim seqLen)
    {
        var pos = Tensor.Arange(t, seqLen);
        var future = pos.Unsqueeze(0).Greater(pos.Unsqueeze(1));
        return t.Scalar(Min).Where(future, t.Scalar(0f)).Unsqueeze(0, 1);
    }

    /// <summary>Both masks at once: masked where either is (the minimum, so two masked entries do not sum to -inf).</summary>
    public static Tensor Combine(Tensor a, Tensor b) => a.Min(b);
}
