namespace VisualGen.Exporter.Graph;

/// <summary>
/// Scaled dot-product attention: the one node kind every backend maps to its own fused kernel.
/// Emitted as ONNX opset-23 <c>Attention</c> with 3-D inputs ([batch, seq, heads*head_dim]) and head counts,
/// which ONNX Runtime runs as is and the native CUDA engine maps to its flash/cuDNN kernel.
/// </summary>
public static class AttentionOp
{
    /// <param name="kvHeads">key/value heads for grouped-query attention (q heads a multiple of it); null: same as <paramref name="heads"/>.</param>
    /// <param name="mask">a bool mask (true = attend) or an additive float mask broadcastable to [batch, heads, q_len, kv_len].</param>
    /// <param name="causal">query i attends keys j ≤ i: ONNX's <c>is_causal</c> attribute instead of a materialized
    /// [q_len, kv_len] mask (with <paramref name="mask"/>, both apply).</param>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, float? scale = null, Tensor? mask = null, int? kvHeads = null,
        bool causal = false)
    {
        var attrs = new Dictionary<string, object> { ["q_num_heads"] = (long)heads, ["kv_num_heads"] = (long)(kvHeads ?? heads) };
        if (scale is float s) attrs["scale"] = s;
        if (causal) attrs["is_causal"] = 1L;
        return q.Tracer.Op("Attention", [q, k, v, mask], attrs);
    }
}
