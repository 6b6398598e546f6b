using VisualGen.Engines.Cuda.Model;
using VisualGen.Engines.Cuda.Native;
using static VisualGen.Engines.Cuda.Native.NativeMethods;

namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>
/// Q's Sage quantization in the step that prepares q: Wan's attention normalizes q's projection across heads
/// (<c>VgRmsNormRope</c> in self-attention, a weight-only RMS <c>VgNorm</c> in cross-attention) and hands it to the
/// attention alone. Unfused, the norm writes bf16 q and the Sage pre-pass reads it again for its INT8 codes; fused,
/// vg_sage_quantize_q_norm_rope writes the codes from the projection and the attention runs VG_SAGE_PHASE_KV_ATTEND
/// (q's codes given): 5.7 ms of the Wan 1.3B FP8 + Sage forward at 480p (623.8 → 618.4 ms, H100, RESULTS stop 41).
/// Whether the attention runs Sage is known only when it is planned (k's length decides cross-attention), so the norm
/// waits for it: the attention then plans the fused step or, where it does not run Sage, the norm's own step. (K's codes
/// from k's step too measured no faster in the forward, 618.9 ms: not kept.)
/// </summary>
internal sealed unsafe partial class ShapePlanner
{
    /// <summary>A q whose norm waits for its attention: the projection it reads, the norm's parameters, and the plain step
    /// (<see cref="Plain"/>) that computes the bf16 value where the attention does not take the fused form.</summary>
    sealed record PendingNorm(OpNode Node, DeviceValue X, DeviceValue? Weight, int ApplyNorm, float Eps, DeviceValue? Cos,
        DeviceValue? Sin, DeviceValue StandIn, Func<DeviceValue> Plain);

    readonly Dictionary<string, PendingNorm> _pendingNorms = new(StringComparer.Ordinal);

    /// <summary>Whether the norm <paramref name="n"/> of the bf16 [batch, tokens, channels] <paramref name="x"/> may wait
    /// for its attention: Sage attention with 16 queries per scale, its only reader an unmasked, non-causal
    /// <c>Attention</c> reading it as q (input 0) and nothing else, with heads the fused kernel holds, or that an FP8
    /// cross-attention takes (their count and width from that reader).</summary>
    bool SageNormCandidate(OpNode n, DeviceValue x, out long heads, out long headDim)
    {
        heads = headDim = 0;
        if (_res.Attention != AttentionPrecision.Sage || _res.SageBlocks.Query != 16 || _res.Float32Activations) return false;
        string value = n.Outputs[0];
        if (x.DType != VgDType.BF16 || x.Shape.Length != 3 || _g.Outputs.Any(o => o.Name == value)) return false;
        _consumers ??= _g.Consumers();
        if (!_consumers.TryGetValue(value, out var readers) || readers.Count != 1 || readers[0] is not { Op: "Attention" } a
            || a.In(3) is not null || a.Int("is_causal", 0) != 0 || a.In(2) == value)
            return false;
        if (a.In(0) != value || a.In(1) == value) return false;
        long c = x.Shape[2];
        heads = a.Int("q_num_heads", 0);
        headDim = heads > 0 && c % heads == 0 ? c / heads : 0;
        // the fused Sage q step's head sizes, or an FP8 cross-attention's (ShapePlanner.CrossFp8.cs: whether the attention
        // is one is known when it is planned)
        return (headDim is 64 or 128 && c <= 6144) || (_res.Fp8CrossAttention && headDim % 16 == 0 && headDim <= 128);
    }

    /// <summary>Records <paramref name="n"/>'s output as pending (its attention plans it).</summary>
    void DeferNorm(OpNode n, DeviceValue x, DeviceValue? weight, int applyNorm, float eps, DeviceValue? cos, DeviceValue? sin,
        Func<DeviceValue> plain)
    {
        var standIn = new DeviceValue(n.Outputs[0], x.Shape, VgDType.BF16);  // shape only, never allocated
        _pendingNorms[n.Outputs[0]] = new PendingNorm(n, x, weight, applyNorm, eps, cos, sin, standIn, plain);
    }

    /// <summary>The attention <paramref name="n"/> on a pending q, Sage-style: the fused step into a buffer of codes, then
    /// the rest of the pre-pass and the main kernel. False when the attention does not run Sage (nothing planned).</summary>
    bool TrySageAttentionFused(OpNode n, PendingNorm pq, DeviceValue k, DeviceValue v, long heads, long kvHeads, float scale)
    {
        var x = pq.X;
        long b = x.Shape[0], sq = x.Shape[1], hd = x.Shape[2] / heads, skv = k.Shape[1];
        if (k.Shape.Length != 3 || k.Shape[0] != b || !_res.SageAttention(sq, skv, hd)) return false;
        var plan = _res.SagePlan(b, heads, kvHeads, sq, skv, hd, scale);
        k = Cast(k, VgDType.BF16);
        v = Cast(v, VgDType.BF16);
        var qCodes = FusedQStep(pq, plan, n.Name + "/q#sage_codes", heads * hd);
        SageRun(n, plan, qCodes, k, v, SagePhaseKvAttend, [b, sq, heads * hd]);
        return true;
    }

    /// <summary>The fused q step: the pending norm's projection to Q's codes and scales (the library's layout, in a value of
    /// 1-byte elements).</summary>
    DeviceValue FusedQStep(PendingNorm p, SageAttentionPlan plan, string name, long channels)
    {
        var codes = New(name, [plan.QCodesBytes], VgDType.FP8E4M3);
        var (x, w, cos, sin) = (p.X, p.Weight, p.Cos, p.Sin);
        int applyNorm = p.ApplyNorm; float eps = p.Eps;
        Add(new ActionStep(p.Node.Name + "/sage_codes", KernelClass.NormRope, stream =>
            Check(vg_sage_quantize_q_norm_rope(plan.Handle.Ptr, x.Ptr, channels, applyNorm, eps, w?.Ptr ?? IntPtr.Zero,
                (int)(w?.DType ?? VgDType.F32), cos?.Ptr ?? IntPtr.Zero, sin?.Ptr ?? IntPtr.Zero, 0, codes.Ptr, (nuint)codes.Bytes, stream),
                p.Node.Name)) { Detail = plan.Key },
            new[] { x, w, cos, sin }.OfType<DeviceValue>().ToArray(), [codes]);
        return codes;
    }
}
