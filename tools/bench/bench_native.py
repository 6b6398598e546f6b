"""Benchmark of libvisualgen_native.so against PyTorch on the same GPU, same run: bf16 GEMM ceiling,
Wan 2.1 1.3B GEMM shapes (M = 2 * 32760 tokens), FP8 GEMMs (per tensor, 128x128 blocks) against bf16 at the
same shapes, attention at Wan shapes (self [2,12,32760,128],
cross q 32760 / kv 512) against torch SDPA's cuDNN and flash backends, Sage-style quantized attention against the
bf16 and per-tensor FP8 cuDNN kernels (--only sage), and the fused memory-bound
kernels against their eager PyTorch equivalents. Median of CUDA-event timings after warm-up.
Prints a markdown table last and writes it to --md.

    python3 tools/bench/bench_native.py --lib native/build/libvisualgen_native.so --md $OUT/results.md
"""
import argparse
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "native", "python"))
import visualgen_native as vgn  # noqa: E402
from peer_common import bench as _bench, cosine  # noqa: E402


def bench(fn, warm=3, rep=10):
    return _bench(fn, warm, rep)

dev = "cuda"
rows = []




def add(group, what, ms, work, unit, base_ms=None):
    rate = work / ms / 1e9 if work else 0.0  # flops -> TFLOP/s; bytes*1e3 -> GB/s
    rows.append((group, what, ms, rate, unit, (base_ms / ms) if base_ms else None))
    print(f"{group:10s} {what:58s} {ms:9.3f} ms  {rate:8.1f} {unit}" +
          (f"  x{base_ms / ms:.2f} vs torch" if base_ms else ""), flush=True)


def bench_gemm(vg, ceiling_only=False):
    ws = torch.empty(64 << 20, device=dev, dtype=torch.uint8)
    M = 8192
    x = torch.randn(M, M, device=dev, dtype=torch.bfloat16)
    y = torch.randn(M, M, device=dev, dtype=torch.bfloat16)
    t_ms = bench(lambda: x @ y)
    add("ceiling", "torch bf16 8192^3 (x @ y)", t_ms, 2 * M ** 3, "TFLOP/s")
    yt = y.t().contiguous()  # NK layout of the same product
    out = torch.empty(M, M, device=dev, dtype=torch.bfloat16)
    plan = vg.gemm_plan(M, M, M, vgn.WEIGHT_NK)
    vg.gemm_tune(plan, x, yt, None, None, out, ws, candidates=8, iterations=5)
    ms = bench(lambda: vg.gemm_run(plan, x, yt, None, None, out, ws))
    add("ceiling", "ours bf16 8192^3 (cuBLASLt, tuned)", ms, 2 * M ** 3, "TFLOP/s", t_ms)
    err = ((out.double() - (x.double() @ y.double())).norm() / (x.double() @ y.double()).norm()).item()
    print(f"  check 8192^3 vs fp64: rel err {err:.2e}")
    del x, y, yt, out
    Mw = 2 * 32760
    shapes = [("qkv fused 1536->4608 +bias", 4608, 1536, vgn.EPI_BIAS),
              ("attn proj 1536->1536 +bias", 1536, 1536, vgn.EPI_BIAS),
              ("ffn up 1536->8960 +bias+gelu", 8960, 1536, vgn.EPI_BIAS_GELU),
              ("ffn down 8960->1536 +bias", 1536, 8960, vgn.EPI_BIAS)]
    for name, N, K, epi in shapes:
        a = torch.randn(Mw, K, device=dev, dtype=torch.bfloat16)
        w = torch.randn(N, K, device=dev, dtype=torch.bfloat16) / math.sqrt(K)
        bias = torch.randn(N, device=dev, dtype=torch.bfloat16)
        out = torch.empty(Mw, N, device=dev, dtype=torch.bfloat16)
        if epi == vgn.EPI_BIAS_GELU:
            tfn = lambda: F.gelu(F.linear(a, w, bias), approximate="tanh")  # noqa: E731
        else:
            tfn = lambda: F.linear(a, w, bias)  # noqa: E731
        t_ms = bench(tfn)
        flops = 2 * Mw * N * K
        add("gemm", f"torch {name} M={Mw}", t_ms, flops, "TFLOP/s")
        plan = vg.gemm_plan(Mw, N, K, vgn.WEIGHT_NK, epi)
        best, tried = vg.gemm_tune(plan, a, w, bias, None, out, ws, candidates=8, iterations=5)
        ms = bench(lambda: vg.gemm_run(plan, a, w, bias, None, out, ws))
        add("gemm", f"ours  {name} ({tried} algos timed)", ms, flops, "TFLOP/s", t_ms)
        ref = tfn()[:512].double()
        err = ((out[:512].double() - ref).norm() / ref.norm()).item()
        print(f"  check vs torch: rel err {err:.2e}")
        vg.call("vg_gemm_plan_destroy", plan)


def bench_fp8_gemm(vg):
    """FP8 GEMM rate vs the bf16 ceiling (issue 13): cuBLASLt e4m3 x e4m3 -> bf16 with per-tensor, per-row (activation
    rows x the weight's scale) and 1x128/128x128 block scales, against our bf16 GEMM on the same shapes (Wan 2.1 1.3B: M = 32760 tokens, x2 for CFG; K 1536 -> N
    1536 / 8960 and 8960 -> 1536, and 8192^3). Activation quantization is timed on its own row (it runs before every
    FP8 GEMM); "ours" rows here are heuristic algorithms (no tuning), the bf16 row is tuned."""
    ws = torch.empty(64 << 20, device=dev, dtype=torch.uint8)
    e4m3 = lambda t: t.clamp(-448, 448).to(torch.float8_e4m3fn)  # noqa: E731
    shapes = [(8192, 8192, 8192, "8192^3")]
    for M in (32760, 2 * 32760):
        shapes += [(M, 1536, 1536, f"attn proj 1536->1536 M={M}"), (M, 8960, 1536, f"ffn up 1536->8960 M={M}"),
                   (M, 1536, 8960, f"ffn down 8960->1536 M={M}")]
    for M, N, K, name in shapes:
        flops = 2 * M * N * K
        a = torch.randn(M, K, device=dev, dtype=torch.bfloat16)
        w = torch.randn(N, K, device=dev, dtype=torch.bfloat16) / math.sqrt(K)
        out = torch.empty(M, N, device=dev, dtype=torch.bfloat16)
        plan = vg.gemm_plan(M, N, K, vgn.WEIGHT_NK)
        vg.gemm_tune(plan, a, w, None, None, out, ws, candidates=8, iterations=3)
        bf16_ms = bench(lambda: vg.gemm_run(plan, a, w, None, None, out, ws))
        add("fp8gemm", f"bf16 (tuned) {name}", bf16_ms, flops, "TFLOP/s")
        vg.call("vg_gemm_plan_destroy", plan)
        ref = (a[:256].float() @ w.float().t()).double()

        def timed(label, plan, aq_, a_scale_, wq_, w_scale_):
            """Times one FP8 GEMM plan, adds its row, prints its error against the bf16 operands, destroys it."""
            ms = bench(lambda: vg.fp8_gemm_run(plan, aq_, a_scale_, wq_, w_scale_, None, out, ws))
            add("fp8gemm", f"{label} {name}", ms, flops, "TFLOP/s", bf16_ms)
            err = ((out[:256].double() - ref).norm() / ref.norm()).item()
            print(f"  check {label} {name} vs bf16 operands: rel err {err:.2e} (e4m3 rounding of both operands)")
            vg.call("vg_fp8_gemm_plan_destroy", plan)

        # per tensor
        aq = torch.empty(M, K, device=dev, dtype=torch.float8_e4m3fn)
        a_scale = torch.empty(vgn.FP8_TENSOR_SCALE_FLOATS, device=dev)
        w_scale = torch.zeros(4, device=dev)
        w_scale[0] = w.float().abs().max() / 448
        wq = e4m3(w.float() / w_scale[0])
        q_ms = bench(lambda: vg.quantize_fp8_tensor(a, aq, a_scale))
        add("fp8gemm", f"quantize activation per tensor [{M},{K}]", q_ms, 3 * M * K * 1e3, "GB/s")
        # fp32-promoted accumulation, then the tensor core's own accumulator (FAST_ACCUM): rate and the error it adds
        for fast, label in ((False, "fp8 per-tensor"), (True, "fp8 per-tensor fast-accum")):
            timed(label, vg.fp8_gemm_plan(M, N, K, vgn.FP8_SCALING_TENSOR, fast_accumulation=fast), aq, a_scale, wq, w_scale)
        tuned = vg.fp8_gemm_plan(M, N, K, vgn.FP8_SCALING_TENSOR, fast_accumulation=True)
        _, tried = vg.fp8_gemm_tune(tuned, aq, a_scale, wq, w_scale, None, out, ws, candidates=16, iterations=5)
        timed(f"fp8 per-tensor fast-accum tuned ({tried} algos)", tuned, aq, a_scale, wq, w_scale)

        # per row (token): the activation quantized in one pass, cuBLASLt's per-row (OUTER_VEC) scaling with the
        # weight's per-tensor scale repeated per output feature (the engine's default for dynamic FP8 linears)
        a_scale_r = torch.empty(M, device=dev)
        q_ms = bench(lambda: vg.quantize_fp8_rows(a, aq, a_scale_r))
        add("fp8gemm", f"quantize activation per row [{M},{K}]", q_ms, 3 * M * K * 1e3, "GB/s")
        try:
            wsv = w_scale[0].expand(N).contiguous()
            timed("fp8 per-row fast-accum", vg.fp8_gemm_plan(M, N, K, vgn.FP8_SCALING_ROWS, fast_accumulation=True),
                  aq, a_scale_r, wq, wsv)
            # the same after timing cuBLASLt's candidates on these buffers (what an engine build with profiles does)
            tuned = vg.fp8_gemm_plan(M, N, K, vgn.FP8_SCALING_ROWS, fast_accumulation=True)
            _, tried = vg.fp8_gemm_tune(tuned, aq, a_scale_r, wq, wsv, None, out, ws, candidates=16, iterations=5)
            timed(f"fp8 per-row fast-accum tuned ({tried} algos)", tuned, aq, a_scale_r, wq, wsv)
            if N == 8960:
                # the FFN-up as the forward runs it: bias and GELU(tanh) in cuBLASLt's epilogue (what do they cost?)
                bias = (torch.randn(N, device=dev) * 0.1).to(torch.bfloat16)
                for epi, label in ((vgn.EPI_BIAS, "+bias"), (vgn.EPI_BIAS_GELU, "+bias+gelu")):
                    plan = vg.fp8_gemm_plan(M, N, K, vgn.FP8_SCALING_ROWS, epilogue=epi, fast_accumulation=True)
                    ms = bench(lambda: vg.fp8_gemm_run(plan, aq, a_scale_r, wq, wsv, bias, out, ws))
                    add("fp8gemm", f"fp8 per-row fast-accum {label} {name}", ms, flops, "TFLOP/s", bf16_ms)
                    vg.call("vg_fp8_gemm_plan_destroy", plan)
        except vgn.VgError as e:  # reported, not hidden
            print(f"  fp8 per-row unavailable: {e}")

        # 1x128 activation groups x 128x128 weight blocks
        kb, kb4 = K // 128, (K // 128 + 3) // 4 * 4
        blocks = w.float().view(N // 128, 128, kb, 128)
        s = (blocks.abs().amax(dim=(1, 3), keepdim=True) / 448).clamp(min=1e-12)
        wqb = e4m3(blocks / s).view(N, K)
        w_scale_b = torch.ones(N // 128, kb4, device=dev)
        w_scale_b[:, :kb] = s.view(N // 128, kb)
        a_scale_b = torch.empty(kb, M, device=dev)
        q_ms = bench(lambda: vg.quantize_fp8_groups(a, aq, a_scale_b, M))
        add("fp8gemm", f"quantize activation per 1x128 [{M},{K}]", q_ms, 3 * M * K * 1e3, "GB/s")
        try:
            plan = vg.fp8_gemm_plan(M, N, K, vgn.FP8_SCALING_BLOCK128)
        except vgn.VgError as e:  # reported, not hidden
            print(f"  fp8 block128 unavailable: {e}")
            continue
        timed("fp8 block128", plan, aq, a_scale_b, wqb, w_scale_b)
        del a, w, out, aq, wq, wqb


def bench_attention(vg):
    B, H, D = 2, 12, 128
    for name, Sq, Skv in [("self 32760", 32760, 32760), ("cross q32760 kv512", 32760, 512)]:
        flops = 4 * B * H * Sq * Skv * D
        qh = torch.randn(B, H, Sq, D, device=dev, dtype=torch.bfloat16)
        kh = torch.randn(B, H, Skv, D, device=dev, dtype=torch.bfloat16)
        vh = torch.randn(B, H, Skv, D, device=dev, dtype=torch.bfloat16)
        best = None
        for be_name, be in [("cudnn", torch.nn.attention.SDPBackend.CUDNN_ATTENTION),
                            ("flash", torch.nn.attention.SDPBackend.FLASH_ATTENTION)]:
            try:
                with torch.nn.attention.sdpa_kernel([be]):
                    ms = bench(lambda: F.scaled_dot_product_attention(qh, kh, vh), 2, 5)
                add("attention", f"torch sdpa {be_name} {name} [B,H,S,D]", ms, flops, "TFLOP/s")
                best = ms if best is None else min(best, ms)
            except Exception as e:  # report, do not hide
                print(f"  torch sdpa {be_name} unavailable: {type(e).__name__}: {str(e)[:100]}")
        with torch.nn.attention.sdpa_kernel([torch.nn.attention.SDPBackend.CUDNN_ATTENTION]):
            ref = F.scaled_dot_product_attention(qh, kh, vh)
        # Ours on [B, S, H, D] (the projection output layout) and on [B, H, S, D] strides.
        q, k, v = (t.transpose(1, 2).contiguous() for t in (qh, kh, vh))
        out = torch.empty(B, Sq, H, D, device=dev, dtype=torch.bfloat16)
        plan = vg.attention_plan(B, H, Sq, Skv, D)
        ws = torch.empty(max(vg.attention_workspace(plan), 1), device=dev, dtype=torch.uint8)
        ms = bench(lambda: vg.attention_run(plan, q, k, v, out, ws), 2, 5)
        add("attention", f"ours cudnn {name} [B,S,H,D]", ms, flops, "TFLOP/s", best)
        err = ((out.transpose(1, 2).double() - ref.double()).norm() / ref.double().norm()).item()
        print(f"  check [B,S,H,D] vs torch cudnn: rel err {err:.2e}")
        st = lambda t: (t.stride(0), t.stride(2), t.stride(1), t.stride(3))  # noqa: E731
        oh = torch.empty(B, H, Sq, D, device=dev, dtype=torch.bfloat16)
        plan2 = vg.attention_plan(B, H, Sq, Skv, D, st(qh), st(kh), st(vh), st(oh))
        ws2 = torch.empty(max(vg.attention_workspace(plan2), 1), device=dev, dtype=torch.uint8)
        ms = bench(lambda: vg.attention_run(plan2, qh, kh, vh, oh, ws2), 2, 5)
        add("attention", f"ours cudnn {name} [B,H,S,D]", ms, flops, "TFLOP/s", best)
        err = ((oh.double() - ref.double()).norm() / ref.double().norm()).item()
        print(f"  check [B,H,S,D] vs torch cudnn: rel err {err:.2e}")
        del qh, kh, vh, q, k, v, out, oh, ref


def bench_fused(vg):
    B, T, Cc, Hh, D = 2, 32760, 1536, 12, 128
    R = B * T
    x = torch.randn(R, Cc, device=dev, dtype=torch.bfloat16)
    y = torch.randn(R, Cc, device=dev, dtype=torch.bfloat16)
    out = torch.empty_like(x)
    sc, sh, gate = (torch.randn(B, Cc, device=dev) * 0.1 for _ in range(3))
    nbytes = 2 * R * Cc * 2

    def torch_norm_mod():
        xf = F.layer_norm(x.float().view(B, T, Cc), (Cc,), eps=1e-6)
        return (xf * (1 + sc[:, None]) + sh[:, None]).to(torch.bfloat16)
    t_ms = bench(torch_norm_mod)
    add("fused", "torch layernorm+modulate (eager)", t_ms, nbytes * 1e3, "GB/s")
    ms = bench(lambda: vg.norm_modulate(vgn.NORM_LAYER, x, out, R, T, Cc, 1e-6, scale=vgn.row_vector(sc, Cc),
                                        shift=vgn.row_vector(sh, Cc)))
    add("fused", "ours layernorm+modulate", ms, nbytes * 1e3, "GB/s", t_ms)

    w = torch.randn(Cc, device=dev, dtype=torch.bfloat16)
    cos = torch.randn(T, D // 2, device=dev)
    sin = torch.randn(T, D // 2, device=dev)
    cos_full = cos.repeat_interleave(2, -1).view(1, T, 1, D)
    sin_full = sin.repeat_interleave(2, -1).view(1, T, 1, D)
    rms = torch.nn.RMSNorm(Cc, eps=1e-6, device=dev, dtype=torch.bfloat16)

    def torch_rope():
        h = rms(x.view(B, T, Cc)).unflatten(2, (Hh, D))
        x1, x2 = h.unflatten(-1, (-1, 2)).unbind(-1)
        c, s = cos_full[..., 0::2], sin_full[..., 1::2]
        o = torch.empty_like(h)
        o[..., 0::2] = x1 * c - x2 * s
        o[..., 1::2] = x1 * s + x2 * c
        return o
    t_ms = bench(torch_rope)
    add("fused", "torch qk rmsnorm + rope (diffusers eager)", t_ms, nbytes * 1e3, "GB/s")
    ms = bench(lambda: vg.rmsnorm_rope(x, out, R, T, Hh, D, 1e-6, w, cos, sin))
    add("fused", "ours qk rmsnorm + rope", ms, nbytes * 1e3, "GB/s", t_ms)

    t_ms = bench(lambda: (x.float().view(B, T, Cc) + y.view(B, T, Cc) * gate[:, None]).to(torch.bfloat16))
    add("fused", "torch gated residual (eager)", t_ms, 3 * R * Cc * 2 * 1e3, "GB/s")
    ms = bench(lambda: vg.gated_residual(x, y, vgn.row_vector(gate, Cc), out, R, T, Cc))
    add("fused", "ours gated residual", ms, 3 * R * Cc * 2 * 1e3, "GB/s", t_ms)

    # the forward's costliest norm step: x + y · gate, then LayerNorm + modulate as FP8 codes with one scale per row
    # (the next linear's input); bytes: x, y read, the sum written (bf16), the codes written
    codes = torch.empty(R, Cc, device=dev, dtype=torch.uint8)
    rscales = torch.empty(R, device=dev)
    total = out.clone()
    rn_bytes = (3 * 2 + 1) * R * Cc

    def torch_residual_norm_fp8():
        s = (x.float().view(B, T, Cc) + y.view(B, T, Cc) * gate[:, None]).to(torch.bfloat16)
        h = F.layer_norm(s.float(), (Cc,), eps=1e-6) * (1 + sc[:, None]) + sh[:, None]
        q = h / (h.abs().amax(-1, keepdim=True) / 448.0)
        return s, h, q.to(torch.float8_e4m3fn)
    t_ms = bench(torch_residual_norm_fp8)
    add("fused", "torch gated residual + layernorm+modulate -> fp8 rows (eager)", t_ms, rn_bytes * 1e3, "GB/s")
    ms = bench(lambda: vg.residual_norm(vgn.NORM_LAYER, x, y, vgn.row_vector(gate, Cc), total, codes, R, T, Cc, 1e-6,
                                        row_scales=rscales, scale=vgn.row_vector(sc, Cc), shift=vgn.row_vector(sh, Cc)))
    add("fused", "ours gated residual + layernorm+modulate -> fp8 rows", ms, rn_bytes * 1e3, "GB/s", t_ms)
    ts, h, _ = torch_residual_norm_fp8()
    c = cosine((codes.view(torch.float8_e4m3fn).float() * rscales[:, None]).view(B, T, Cc), h)
    dsum = (total.view(B, T, Cc).float() - ts.float()).abs().max().item()  # fmaf here, a product then a sum in torch
    print(f"fused: residual + norm -> fp8 rows: the sum's max |difference| from torch's {dsum:.3e}; dequantized codes "
          f"vs torch's norm: cosine {c:.6f}")

    xc = torch.randn(R, 8960, device=dev, dtype=torch.bfloat16)
    oc = torch.empty_like(xc)
    t_ms = bench(lambda: F.gelu(xc, approximate="tanh"))
    add("fused", "torch gelu_tanh [65520,8960]", t_ms, 2 * xc.numel() * 2 * 1e3, "GB/s")
    ms = bench(lambda: vg.unary(vgn.GELU_TANH, xc, oc))
    add("fused", "ours gelu_tanh [65520,8960]", ms, 2 * xc.numel() * 2 * 1e3, "GB/s", t_ms)


sage_rows = []


def bench_sage(vg):
    """Sage-style quantized attention (INT8 Q·Kᵀ, FP8 P·V) against cuDNN bf16 and today's per-tensor FP8 path (its
    quantize and dequantize included, as the engine runs it), at Wan 2.1 1.3B self-attention (CFG batch 2, 480p 81
    frames) and a FLUX.1 joint-attention shape. Sage is timed whole (pre-pass included) for every compiled block size,
    and the default blocks' pre-pass and main kernel separately. Cosine against the bf16 cuDNN output."""
    for name, B, S, H, D in [("wan1.3B self", 2, 32760, 12, 128), ("flux joint", 1, 4608, 24, 128)]:
        flops = 4 * B * H * S * S * D
        q, k, v = (torch.randn(B, S, H, D, device=dev, dtype=torch.bfloat16) for _ in range(3))

        def row(what, ms, cosine, base, work=flops):
            sage_rows.append((name, what, ms, work / ms / 1e9 if work else None, base / ms if base else None, cosine))
            add("sage", f"{what} {name} B{B} S{S} H{H} D{D}", ms, work, "TFLOP/s")

        ref = torch.empty(B, S, H, D, device=dev, dtype=torch.bfloat16)
        plan = vg.attention_plan(B, H, S, S, D)
        ws = torch.empty(max(vg.attention_workspace(plan), 1), device=dev, dtype=torch.uint8)
        base = bench(lambda: vg.attention_run(plan, q, k, v, ref, ws), 2, 5)
        torch.cuda.synchronize()
        row("bf16 cuDNN", base, 1.0, base)
        vg.call("vg_attention_plan_destroy", plan)

        try:
            q8, k8, v8, o8 = (torch.empty(B, S, H, D, device=dev, dtype=torch.float8_e4m3fn) for _ in range(4))
            blocks = [torch.empty(vgn.FP8_SCALE_FLOATS, device=dev, dtype=torch.float32) for _ in range(3)]
            plan = vg.attention_plan(B, H, S, S, D, dtype=vgn.FP8_E4M3)
            ws = torch.empty(max(vg.attention_workspace(plan), 1), device=dev, dtype=torch.uint8)
            out = torch.empty_like(ref)

            def fp8_run():
                for x, x8, blk in ((q, q8, blocks[0]), (k, k8, blocks[1]), (v, v8, blocks[2])):
                    vg.quantize_fp8(x, x8, blk)
                vg.attention_run(plan, q8, k8, v8, o8, ws, scales=(blocks[0], blocks[1], blocks[2], blocks[2]))
                vg.dequantize_fp8(o8, blocks[2], out)
            ms = bench(fp8_run, 2, 5)
            fp8_run()
            torch.cuda.synchronize()
            row("FP8 per-tensor cuDNN (quantize included)", ms, cosine(out, ref), base)
            vg.call("vg_attention_plan_destroy", plan)
            del q8, k8, v8, o8, out
        except vgn.VgError as e:
            print(f"  FP8 per-tensor path not runnable: {e}")

        mma, wgmma = vgn.SAGE_KERNEL_MMA, vgn.SAGE_KERNEL_WGMMA
        # (block_q, block_k, kernel, (query tokens, key tokens) per INT8 scale); the coarser scale groups trade accuracy
        # for nothing in the main kernel (same work), so they show the granularity's effect on the cosine alone
        default = (16, 64)
        wgmma_groups = [(128, 192, wgmma, g) for g in (default, (32, 64), (64, 128), (128, 128))] + [(128, 128, wgmma, default)]
        configs = [(64, 64, mma, default), (128, 64, mma, default), (64, 128, mma, default), (128, 128, mma, default)] + wgmma_groups
        if os.environ.get("VG_SAGE_BENCH") == "wgmma":  # the new kernel only (device time)
            configs = wgmma_groups
        for bq, bk, kern, groups in configs:
            kn = "wgmma" if kern == wgmma else "mma.sync"
            if groups != default:
                kn += f" scales /{groups[0]}q /{groups[1]}k"
            try:
                plan = vg.sage_plan(B, H, S, S, D, block_q=bq, block_k=bk, kernel=kern, q_scale_tokens=groups[0],
                                    k_scale_tokens=groups[1])
            except vgn.VgError as e:
                print(f"  Sage {kn} {bq}x{bk}: {e}")
                continue
            ws = torch.empty(vg.sage_workspace(plan), device=dev, dtype=torch.uint8)
            out = torch.empty_like(ref)
            ms = bench(lambda: vg.sage_run(plan, q, k, v, out, ws), 2, 5)
            vg.sage_run(plan, q, k, v, out, ws)
            torch.cuda.synchronize()
            c = cosine(out, ref)
            row(f"Sage {kn} {bq}x{bk} (pre-pass included)", ms, c, base)
            if groups == default and ((bq, bk) == (64, 64) or kern == wgmma):  # phases apart
                ms_q = bench(lambda: vg.sage_run(plan, q, k, v, None, ws, phase=vgn.SAGE_PHASE_QUANTIZE), 2, 5)
                row(f"Sage pre-pass only (workspace {ws.numel() / 2**20:.0f} MiB)", ms_q, None, None, 0)
                ms_a = bench(lambda: vg.sage_run(plan, None, None, None, out, ws, phase=vgn.SAGE_PHASE_ATTEND), 2, 5)
                row(f"Sage {kn} {bq}x{bk} main kernel only", ms_a, c, base)
            vg.call("vg_sage_attention_plan_destroy", plan)
            del out, ws
        del q, k, v, ref
        torch.cuda.empty_cache()


def bench_sage_q(vg):
    """Q's Sage quantization fused into the step that normalizes q: vg_sage_quantize_q_norm_rope, then
    SAGE_PHASE_KV_ATTEND, against the unfused chain (the norm's bf16 q, then the whole Sage run), at Wan 2.1 1.3B's
    self-attention (RMSNorm across heads + RoPE, k's norm beside it) and cross-attention (q's RMSNorm; 512 text keys,
    against cuDNN bf16 too). Whole chains, three rounds alternating, and each step alone."""
    B, S, H, D, T = 2, 32760, 12, 128, 512
    C = H * D
    x = torch.randn(B * S, C, device=dev, dtype=torch.bfloat16) * 2
    w = torch.randn(C, device=dev, dtype=torch.bfloat16) + 1
    cos, sin = torch.randn(S, D // 2, device=dev), torch.randn(S, D // 2, device=dev)
    qn = torch.empty_like(x)
    for name, skv, rope in (("wan1.3B self", S, True), ("wan1.3B cross", T, False)):
        k, v = (torch.randn(B, skv, H, D, device=dev, dtype=torch.bfloat16) for _ in range(2))
        plan = vg.sage_plan(B, H, S, skv, D)
        ws = torch.empty(vg.sage_workspace(plan), device=dev, dtype=torch.uint8)
        codes = torch.empty(vg.sage_q_codes_bytes(plan), device=dev, dtype=torch.uint8)
        out_u, out_f = (torch.empty(B, S, H, D, device=dev, dtype=torch.bfloat16) for _ in range(2))
        if rope:
            norm_q = lambda: vg.rmsnorm_rope(x, qn, B * S, S, H, D, 1e-6, w, cos, sin)  # noqa: E731
            prologue = lambda: vg.sage_quantize_q_norm_rope(plan, x, codes, 1e-6, w, cos, sin)  # noqa: E731
        else:
            norm_q = lambda: vg.norm_modulate(vgn.NORM_RMS, x, qn, B * S, S, C, 1e-6, weight=w)  # noqa: E731
            prologue = lambda: vg.sage_quantize_q_norm_rope(plan, x, codes, 1e-6, w, None, None)  # noqa: E731
        unfused = lambda: (norm_q(), vg.sage_run(plan, qn, k, v, out_u, ws))  # noqa: E731
        fused = lambda: (prologue(), vg.sage_run(plan, codes, k, v, out_f, ws, phase=vgn.SAGE_PHASE_KV_ATTEND))  # noqa: E731
        chains = [("norm + Sage (pre-pass included)", unfused), ("fused q step + Sage KV_ATTEND", fused)]
        if rope:  # self-attention: k's norm + RoPE too (k from its own projection xk), as the engine runs it
            xk = torch.randn(B * S, C, device=dev, dtype=torch.bfloat16) * 2
            kn = torch.empty_like(xk)
            norm_k = lambda: vg.rmsnorm_rope(xk, kn, B * S, S, H, D, 1e-6, w, cos, sin)  # noqa: E731
            knv = kn.view(B, S, H, D)
            chains = [("q, k norms + Sage (pre-pass included)", lambda: (norm_q(), norm_k(), vg.sage_run(plan, qn, knv, v, out_u, ws))),
                      ("fused q step, k norm + Sage KV_ATTEND", lambda: (prologue(), norm_k(), vg.sage_run(plan, codes, knv, v, out_f, ws, phase=vgn.SAGE_PHASE_KV_ATTEND)))]
        if not rope:  # what the engine runs for cross-attention today
            bplan = vg.attention_plan(B, H, S, skv, D)
            bws = torch.empty(max(vg.attention_workspace(bplan), 1), device=dev, dtype=torch.uint8)
            out_b = torch.empty(B, S, H, D, device=dev, dtype=torch.bfloat16)
            chains.insert(0, ("norm + bf16 cuDNN", lambda: (norm_q(), vg.attention_run(bplan, qn.view(B, S, H, D), k, v, out_b, bws))))
        times = {what: [] for what, _ in chains}
        for _ in range(3):
            for what, fn in chains:
                times[what].append(bench(fn, 2, 5))
        for _, fn in chains:
            fn()
        torch.cuda.synchronize()
        c = cosine(out_f, out_u)
        for what, _ in chains:
            ms = sorted(times[what])[1]
            add("sageq", f"{what} {name} Sq{S} Skv{skv}", ms, 4 * B * H * S * skv * D, "TFLOP/s")
        print(f"sageq: {name}: fused vs unfused output cosine {c:.7f}; rounds " +
              "; ".join(f"{what}: " + " / ".join(f"{t:.3f}" for t in ts) for what, ts in times.items()))
        add("sageq", f"q norm{' + rope' if rope else ''} alone {name}", bench(norm_q, 3, 10), 2 * x.numel() * 2 * 1e3, "GB/s")
        add("sageq", f"fused q step alone {name}", bench(prologue, 3, 10), (x.numel() * 3) * 1e3, "GB/s")
        if not rope:
            vg.call("vg_attention_plan_destroy", bplan)
        vg.call("vg_sage_attention_plan_destroy", plan)
        del k, v, ws, codes, out_u, out_f
    torch.cuda.empty_cache()


def sage_table():
    lines = ["", "| shape | kernel | ms | TFLOP/s (4·B·H·S²·D) | speed vs bf16 | cosine vs bf16 |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for shape, what, ms, tf, speed, c in sage_rows:
        lines.append(f"| {shape} | {what} | {ms:.3f} | {'' if tf is None else f'{tf:.0f}'} | {'' if speed is None else f'{speed:.2f}x'} | "
                     f"{'' if c is None else f'{c:.6f}'} |")
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--md", default=None)
    ap.add_argument("--only", default="gemm,fp8gemm,attention,sage,fused")
    args = ap.parse_args()
    torch.manual_seed(0)
    vg = vgn.Native(args.lib)
    torch.backends.cuda.matmul.allow_tf32 = True
    gpu = torch.cuda.get_device_name()
    vers = vg.versions()
    print(f"device {gpu}; torch {torch.__version__}; torch cudnn {torch.backends.cudnn.version()}; native {vers}")
    only = args.only.split(",")
    if "gemm" in only:
        bench_gemm(vg)
    if "fp8gemm" in only:
        bench_fp8_gemm(vg)
    if "attention" in only:
        bench_attention(vg)
    if "sage" in only:
        bench_sage(vg)
    if "fused" in only:
        bench_fused(vg)
    if "sageq" in only:
        bench_sage_q(vg)
    lines = [f"device: {gpu}; torch {torch.__version__} (cuDNN {torch.backends.cudnn.version()}); "
             f"libvisualgen_native: cuBLASLt {vers['cublaslt']}, cuDNN {vers['cudnn']}, CUDA {vers['cuda_runtime']}",
             "", "| group | what | ms | rate | ours/torch speed |", "| --- | --- | ---: | ---: | ---: |"]
    for g, w, ms, rate, unit, ratio in rows:
        lines.append(f"| {g} | {w} | {ms:.3f} | {rate:.0f} {unit} | {'' if ratio is None else f'{ratio:.2f}x'} |")
    if sage_rows:
        lines += sage_table()
    table = "\n".join(lines)
    if args.md:
        with open(args.md, "w") as f:
            f.write(table + "\n")
    print("\n" + table)


if __name__ == "__main__":
    main()
