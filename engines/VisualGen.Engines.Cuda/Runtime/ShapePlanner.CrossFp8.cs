using VisualGen.Engines.Cuda.Model;
using VisualGen.Engines.Cuda.Native;
using VisualGen.Engines.Cuda.Planning;
using static VisualGen.Engines.Cuda.Native.NativeMethods;

namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>
/// Cross-attention in FP8 under Sage attention (<see cref="EngineResources.Fp8CrossAttention"/>): Wan's cross-attention
/// (queries the video's tokens, keys the text's 512) normalizes q's projection across heads (a weight-only RMS
/// <c>VgNorm</c>, pending for its attention, ShapePlanner.SageQ.cs) and feeds its output to the FP8 O projection alone.
/// In bf16 that is the norm's bf16 q, cuDNN's bf16 kernel, its bf16 output and the O projection's quantization pass;
/// here the norm writes q's E4M3 codes with a scale known before the values (RMSNorm's output is bounded: Σ x̂² <= C, so
/// |y_c| <= sqrt(C) · max|weight|, the plan's constant), k and v (the text's, small) are quantized per tensor on the
/// device, cuDNN's FP8 kernel writes the output's codes in v's scale (a convex combination of v's rows: |o| <= max|v|),
/// and the O projection's FP8 GEMM reads those codes with that one scale (per tensor). Wan 1.3B under CFG at 480p:
/// cuDNN bf16 0.353 ms a call against FP8 0.282 ms, and the 201 MB q write, the quantization pass gone
/// (tools/bench/RESULTS.md, stop 48).
/// </summary>
internal sealed unsafe partial class ShapePlanner
{
    /// <summary>A value that exists only as E4M3 codes with one per-tensor scale block (an FP8 attention's output in v's
    /// scale), read by FP8 linears' per-tensor GEMMs.</summary>
    const string Fp8TensorCodesForm = "fp8 tensor codes";

    /// <summary>The FP8 cross-attention of <paramref name="n"/> on the pending q <paramref name="pq"/>; false (nothing
    /// planned) where the option is off, the attention is self-attention, its output is not read by FP8 linears alone
    /// (bf16 linears: the attention stays bf16), q's norm is not a weight-only RMSNorm of constant weight, or cuDNN has
    /// no FP8 plan for the shape.</summary>
    bool TryFp8CrossAttention(OpNode n, PendingNorm pq, DeviceValue k, DeviceValue v, long heads, long kvHeads, float scale)
    {
        var x = pq.X;
        long b = x.Shape[0], sq = x.Shape[1], c = x.Shape[2], hd = c / heads, skv = k.Shape[1], rows = b * sq;
        if (!_res.Fp8CrossAttention || sq == skv || hd % 16 != 0 || hd > 128 || c % 8 != 0 || k.Shape[0] != b || v.Shape[0] != b
            || pq.ApplyNorm != 1 || pq.Cos is not null || pq.Node.Int("kind", 0) != 1 || pq.Node.In(2) is not null)
            return false;
        // only into FP8 O projections: a bf16 one would read the output dequantized, slower than bf16 attention (the
        // FP8 kernel's 0.07 ms a call against the dequantization's 0.1 at Wan 1.3B) and less accurate
        string output = n.Outputs[0];
        if (!ReadOnlyByFp8Linears(output, c, rows, Fp8Scaling.Tensor)) return false;
        double gmax = 1.0;
        if (pq.Node.In(1) is string wn)
        {
            if (HostOf(wn) is not { IsInt: false } w) return false;
            gmax = w.Data.Max(Math.Abs);
        }
        if (_res.TryAttentionPlan(b, heads, kvHeads, sq, skv, hd, scale, fp8: true, out string? why) is not { } plan)
        {
            _res.NoteQuant($"cross-attention '{n.Name}': bf16, cuDNN has no FP8 plan for it ({why})");
            return false;
        }
        // q: the norm's output as codes of the bound's scale (block: [DEQUANT] = s, [QUANT] = 1 / s)
        double s = Math.Max(Math.Sqrt(c) * gmax * (1 + 1.0 / 64) / 448.0, 1e-30);
        var qBlock = UploadHost(new HostValue([Fp8ScaleFloats], [s, 0, 0, 0, 1 / s, 0, 0, 0], false), n.Name + "/q_scale");
        var q8 = New(n.Name + "/q#fp8", x.Shape, VgDType.FP8E4M3);
        var (node, weight, eps) = (pq.Node, pq.Weight, pq.Eps);
        Add(new ActionStep(node.Name + "/fp8", KernelClass.NormRope, stream =>
            Check(vg_norm_modulate_fp8_scaled(1, x.Ptr, (int)x.DType, c, q8.Ptr, qBlock.Ptr + 4 * Fp8Quant, rows, sq, c, eps,
                weight?.Ptr ?? IntPtr.Zero, IntPtr.Zero, (int)(weight?.DType ?? VgDType.F32), null, null, stream), node.Name)),
            new[] { x, weight, qBlock }.OfType<DeviceValue>().ToArray(), [q8]);
        // k, v: per-tensor scales from their max on the device (the text's tokens: small)
        k = Cast(k, VgDType.BF16);
        v = Cast(v, VgDType.BF16);
        var (k8, v8) = (New(n.Name + "/k#fp8", k.Shape, VgDType.FP8E4M3), New(n.Name + "/v#fp8", v.Shape, VgDType.FP8E4M3));
        var (kBlock, vBlock) = (New(n.Name + "/k_scale", [Fp8ScaleFloats], VgDType.F32), New(n.Name + "/v_scale", [Fp8ScaleFloats], VgDType.F32));
        Add(new ActionStep(n.Name + "/quantize_kv", KernelClass.Attention, stream =>
        {
            Check(vg_quantize_fp8(k.Ptr, (int)k.DType, k.Count, k8.Ptr, kBlock.Ptr, stream), n.Name + " (quantize k)");
            Check(vg_quantize_fp8(v.Ptr, (int)v.DType, v.Count, v8.Ptr, vBlock.Ptr, stream), n.Name + " (quantize v)");
        }), [k, v], [k8, v8, kBlock, vBlock]);
        var o8 = New(n.Name + "/out#fp8", [b, sq, c], VgDType.FP8E4M3);
        AttentionStep(n.Name, plan, q8, k8, v8, o8, (qBlock, kBlock, vBlock));
        CodesOnly(output, Fp8TensorCodesForm, o8, vBlock, [b, sq, c], rows);
        return true;
    }
}
