"""Correctness checks of libvisualgen_native.so on the GPU: fresh random inputs every run (never zeros),
outputs poisoned with NaN before each call (so unwritten elements fail), results compared with a
float64 reference by ||out - ref|| / ||ref|| (bf16 tolerance 1e-2, fp32 1e-5 where the math is fp32
end to end). Exit status 1 if any check fails.

    python3 native/tests/check_kernels.py --lib native/build/libvisualgen_native.so [--seed N]
"""
import argparse
import itertools
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import visualgen_native as vgn  # noqa: E402

dev = "cuda"
results = []
FIXTURES = None  # --fixtures: the quant_ops fixture folder


def rel(out, ref):
    out, ref = out.double(), ref.double()
    return ((out - ref).norm() / ref.norm()).item()


def record(name, out, ref, tol=1e-2):
    written = bool(torch.isfinite(out).all().item())
    err = rel(out, ref) if written else float("nan")
    ok = written and err <= tol
    results.append((name, err, tol, ok))
    print(f"{'PASS' if ok else 'FAIL'} {name}: rel err {err:.2e} (tol {tol:.0e}){'' if written else ' UNWRITTEN/NaN'}",
          flush=True)


def expect_error(name, fn, status):
    try:
        fn()
    except vgn.VgError as e:
        ok = e.status == status and len(str(e)) > 20
        results.append((name, 0.0, 0.0, ok))
        print(f"{'PASS' if ok else 'FAIL'} {name}: rejected with {e}")
        return
    results.append((name, 0.0, 0.0, False))
    print(f"FAIL {name}: accepted invalid input")


def poison(*shape, dtype=torch.bfloat16):
    return torch.full(shape, float("nan"), device=dev, dtype=dtype)


def rnd(*shape, dtype=torch.bfloat16, scale=1.0):
    return (torch.randn(*shape, device=dev, dtype=torch.float32) * scale).to(dtype)


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


# ------------------------------------------------------------------------------------------------
def check_gemm(vg):
    ws = torch.empty(64 << 20, device=dev, dtype=torch.uint8)
    cases = [  # m, n, k, layout, epilogue, out dtype, has_c
        (517, 1536, 1536, vgn.WEIGHT_NK, vgn.EPI_BIAS, torch.bfloat16, False),
        (300, 8960, 1536, vgn.WEIGHT_NK, vgn.EPI_BIAS_GELU, torch.bfloat16, False),
        (1024, 1536, 8960, vgn.WEIGHT_NK, vgn.EPI_BIAS, torch.bfloat16, True),
        (333, 1536, 4096, vgn.WEIGHT_KN, vgn.EPI_NONE, torch.bfloat16, False),
        (256, 264, 520, vgn.WEIGHT_KN, vgn.EPI_GELU, torch.float32, False),
        (128, 1536, 1536, vgn.WEIGHT_NK, vgn.EPI_BIAS, torch.float32, True),
    ]
    for m, n, k, layout, epi, odt, has_c in cases:
        a = rnd(m, k)
        w = rnd(n, k, scale=1 / math.sqrt(k)) if layout == vgn.WEIGHT_NK else rnd(k, n, scale=1 / math.sqrt(k))
        has_bias = epi in (vgn.EPI_BIAS, vgn.EPI_BIAS_GELU)
        bias = rnd(n, dtype=odt) if has_bias else None
        c = rnd(m, n, dtype=odt) if has_c else None
        beta = 0.5 if has_c else 0.0
        plan = vg.gemm_plan(m, n, k, layout, epi, vgn.dtype_of(torch.empty(0, dtype=odt)),
                            vgn.dtype_of(bias) if has_bias else vgn.BF16, has_c, 1.0, beta)
        out = poison(m, n, dtype=odt)
        vg.gemm_run(plan, a, w, bias, c, out, ws)
        torch.cuda.synchronize()
        wk = w.double().t() if layout == vgn.WEIGHT_NK else w.double()
        ref = a.double() @ wk
        if has_c:
            ref = ref + beta * c.double()
        if has_bias:
            ref = ref + bias.double()
        if epi in (vgn.EPI_GELU, vgn.EPI_BIAS_GELU):
            ref = gelu_tanh(ref)
        name = f"gemm m{m} n{n} k{k} {'NK' if layout == 0 else 'KN'} epi{epi} {str(odt)[6:]}{' +c' if has_c else ''}"
        record(name, out, ref)
        vg.call("vg_gemm_plan_destroy", plan)

    # Tuning, blob round trip into a fresh plan (what the engine cache does at load).
    m, n, k = 2048, 1536, 1536
    a, w, bias = rnd(m, k), rnd(n, k, scale=1 / math.sqrt(k)), rnd(n)
    plan = vg.gemm_plan(m, n, k, vgn.WEIGHT_NK, vgn.EPI_BIAS)
    out = poison(m, n)
    best, tried = vg.gemm_tune(plan, a, w, bias, None, out, ws, candidates=8, iterations=3)
    blob = vg.gemm_get_algo(plan)
    plan2 = vg.gemm_plan(m, n, k, vgn.WEIGHT_NK, vgn.EPI_BIAS)
    vg.gemm_set_algo(plan2, blob)
    out = poison(m, n)
    vg.gemm_run(plan2, a, w, bias, None, out, ws)
    torch.cuda.synchronize()
    record(f"gemm tuned ({tried} algos, best {best * 1e3:.0f} us) + algo blob reload", out,
           a.double() @ w.double().t() + bias.double())
    bad = bytearray(blob)
    bad[0] ^= 0xFF
    expect_error("gemm set_algo rejects a corrupt blob", lambda: vg.gemm_set_algo(plan2, bytes(bad)), 1)
    expect_error("gemm m=0 rejected", lambda: vg.gemm_plan(0, 16, 16), 1)
    expect_error("gemm missing bias rejected", lambda: vg.gemm_run(plan2, a, w, None, None, out, ws), 1)


# ------------------------------------------------------------------------------------------------
FP8_UNIT = 2.0 ** -4  # E4M3 keeps 3 mantissa bits: one rounding is off by at most 1/16 relative


def fp8_quantize(vg, x):
    """x (bf16) -> (fp8 tensor, scale block) through the library."""
    q = torch.empty(x.shape, device=dev, dtype=torch.float8_e4m3fn)
    block = torch.full((vgn.FP8_SCALE_FLOATS,), float("nan"), device=dev, dtype=torch.float32)
    vg.quantize_fp8(x, q, block)
    return q, block


def check_fp8(vg):
    # quantize: per-tensor factor 448 / max|x|, round to nearest E4M3 (saturating), same as torch's cast
    x = rnd(3001, 128, scale=3.0)
    x[17, 5] = -11.5  # a known extreme
    q, block = fp8_quantize(vg, x)
    torch.cuda.synchronize()
    amax = x.float().abs().max()
    s = torch.tensor(448.0, device=dev) / amax
    ref = (x.float() * s).to(torch.float8_e4m3fn)
    same = (q.view(torch.uint8) == ref.view(torch.uint8)).float().mean().item()
    ok = same == 1.0 and abs(block[vgn.FP8_AMAX].item() - amax.item()) == 0 and \
        abs(block[vgn.FP8_QUANT].item() - s.item()) <= 1e-6 * s.item() and \
        abs(block[vgn.FP8_DEQUANT].item() * s.item() - 1) <= 1e-6
    results.append(("fp8 quantize == torch cast, scale block", 1 - same, 0, ok))
    print(f"{'PASS' if ok else 'FAIL'} fp8 quantize == torch cast: {same:.6f} of bytes equal, amax {block[2].item():.4f} "
          f"(ref {amax.item():.4f}), quant {block[4].item():.4f}, dequant {block[0].item():.6f}")
    for out_dtype in (torch.float32, torch.bfloat16):
        out = poison(3001, 128, dtype=out_dtype)
        vg.dequantize_fp8(q, block, out)
        torch.cuda.synchronize()
        record(f"fp8 dequantize to {str(out_dtype)[6:]} (vs x: one E4M3 rounding)", out, x.double(), tol=FP8_UNIT)
    z = torch.zeros(64, device=dev, dtype=torch.bfloat16)
    qz, bz = fp8_quantize(vg, z)
    torch.cuda.synchronize()
    ok = bz[vgn.FP8_QUANT].item() == 1.0 and bool((qz.float() == 0).all().item())
    results.append(("fp8 quantize of zeros: factor 1, zeros", 0.0, 0, ok))
    print(f"{'PASS' if ok else 'FAIL'} fp8 quantize of zeros: factor {bz[4].item()}")
    expect_error("fp8 quantize count % 8 rejected", lambda: vg.call("vg_quantize_fp8", vgn.ptr(x), vgn.BF16, 12,
                                                                    vgn.ptr(q), vgn.ptr(block), None), 1)

    # FP8 attention: q, k, v quantized per tensor by the library, out written in FP8 with v's factor (|out| <= max|v|)
    # and dequantized; compared with float64 attention on the bf16 inputs. Tolerance: a few E4M3 roundings
    # (inputs, P, out) -> 2 * FP8_UNIT on the relative L2 error.
    for B, H, Sq, Skv, D in [(2, 12, 1000, 1000, 128), (2, 12, 777, 512, 128), (1, 8, 640, 640, 64)]:
        qb, kb, vb = rnd(B, Sq, H, D), rnd(B, Skv, H, D), rnd(B, Skv, H, D)
        (q8, sq), (k8, sk), (v8, sv) = (fp8_quantize(vg, t) for t in (qb, kb, vb))
        o8 = torch.empty(B, Sq, H, D, device=dev, dtype=torch.float8_e4m3fn)
        plan = vg.attention_plan(B, H, Sq, Skv, D, dtype=vgn.FP8_E4M3)
        ws = torch.empty(max(vg.attention_workspace(plan), 1), device=dev, dtype=torch.uint8)
        vg.attention_run(plan, q8, k8, v8, o8, ws, scales=(sq, sk, sv, sv))
        out = poison(B, Sq, H, D)
        vg.dequantize_fp8(o8, sv, out)
        torch.cuda.synchronize()
        record(f"attention fp8 B{B} H{H} Sq{Sq} Skv{Skv} D{D} (vs float64 on the bf16 inputs)", out,
               attention_ref(qb, kb, vb, D ** -0.5), tol=2 * FP8_UNIT)
        expect_error("attention fp8 without scales rejected", lambda: vg.attention_run(plan, q8, k8, v8, o8, ws), 1)
        vg.call("vg_attention_plan_destroy", plan)


# ------------------------------------------------------------------------------------------------
# Quantized linears, by the rules of the quantization fixtures (shared/conformance/quant_ops/golden.json).
E4M3_MAX = 448.0


def e4m3(x):
    """float32 -> e4m3 bytes, round to nearest even, saturating (torch's cast is not saturating: clamp first)."""
    return x.float().clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn)


def bf16_round(x):
    return x.to(torch.bfloat16).float()


def fp8_tensor_rule(x):
    """The fixture's per-tensor fp8 rule for a bf16 tensor: s = bf16(max(amax/448, 1/(448*512))), q = e4m3(x * (1/s))."""
    amax = x.float().abs().max()
    s = bf16_round(torch.maximum(amax / E4M3_MAX, torch.tensor(1.0 / (E4M3_MAX * 512.0), device=dev)))
    return e4m3(x.float() * (1.0 / s)), s


def fp8_feature_rule(w):
    """fp8_tensor_rule per output feature (row) of w [N, K]: s[n] = bf16(max(amax_n/448, 1/(448*512))), q = e4m3(w / s[n])."""
    s = bf16_round(torch.clamp(w.float().abs().amax(dim=1) / E4M3_MAX, min=1.0 / (E4M3_MAX * 512.0)))
    return e4m3(w.float() / s[:, None]), s


def fp8_rows_product(aq, a_scale, wq, w_scale):
    """The per-row scaled FP8 GEMM's exact product in fp64: codes times their row (token) and output-feature scales."""
    return (aq.float().double() * a_scale.double()[:, None]) @ (wq.float().double() * w_scale.double()[:, None]).t()


def fp8_block_rule(w):
    """FP8_BLOCK_SCALES on w [N, K] (multiples of 128): per 128x128 block s = bf16(max(amax/448, 1/(448*512))), q = e4m3(w / s)."""
    n, k = w.shape
    blocks = w.float().view(n // 128, 128, k // 128, 128)
    amax = blocks.abs().amax(dim=(1, 3), keepdim=True)
    s = bf16_round(torch.clamp(amax / E4M3_MAX, min=1.0 / (E4M3_MAX * 512.0)))
    return e4m3(blocks / s).view(n, k), s.view(n // 128, k // 128)


def same_bytes(a, b):
    return bool((a.view(torch.uint8) == b.view(torch.uint8)).all().item())


def record_exact(name, ok, detail=""):
    results.append((name, 0.0 if ok else 1.0, 0, ok))
    print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)


def record_gemm(name, out, ref, max_err=1 / 128):
    """FP8 GEMM vs the float64 product of the dequantized operands: cosine >= 0.9999 and max |err| <= max |ref| / 128
    (bf16 output rounding plus fp32 accumulation order; the fast accumulation, whose tensor-core accumulator keeps
    fewer bits than fp32, gets 1/64: measured 7.1e-3 at K = 8960 on an H200, against 3.1e-3 promoted)."""
    out, ref = out.double(), ref.double()
    written = bool(torch.isfinite(out).all().item())
    cos = F_cos(out, ref) if written else float("nan")
    maxrel = ((out - ref).abs().max() / ref.abs().max()).item() if written else float("nan")
    ok = written and cos >= 0.9999 and maxrel <= max_err
    results.append((name, maxrel, max_err, ok))
    print(f"{'PASS' if ok else 'FAIL'} {name}: cosine {cos:.6f}, max err / max|ref| {maxrel:.2e}"
          f"{'' if written else ' UNWRITTEN/NaN'}", flush=True)


def F_cos(a, b):
    return (a.flatten() @ b.flatten() / (a.norm() * b.norm())).item()


def check_quant(vg):
    folder = find_quant_fixture(FIXTURES)
    if folder:
        check_quant_fixture(vg, folder)
    else:
        print("SKIP quant fixture checks: no quant_ops folder found (pass --fixtures DIR)", flush=True)
    # activations per tensor, dynamic (amax on the device) and static (ONNX QuantizeLinear: x / s)
    for dt in (torch.bfloat16, torch.float32):
        x = rnd(3001, 128, dtype=dt, scale=3.0)
        x[5, 7] = -13.25
        q = torch.empty(x.shape, device=dev, dtype=torch.float8_e4m3fn)
        scale = torch.full((vgn.FP8_TENSOR_SCALE_FLOATS,), float("nan"), device=dev)
        vg.quantize_fp8_tensor(x, q, scale)
        torch.cuda.synchronize()
        ref_q, ref_s = fp8_tensor_rule(x)
        ok = same_bytes(q, ref_q) and scale[vgn.FP8_TENSOR_DEQUANT].item() == ref_s.item()
        record_exact(f"fp8 tensor quantize dynamic {str(dt)[6:]} == fixture rule (bytes, bf16 scale)", ok,
                     f"scale {scale[0].item():.8g} (ref {ref_s.item():.8g})")
    x = rnd(640, 256, scale=2.0)
    fixed = torch.tensor([0.0123], device=dev)
    q = torch.empty(x.shape, device=dev, dtype=torch.float8_e4m3fn)
    scale = torch.full((vgn.FP8_TENSOR_SCALE_FLOATS,), float("nan"), device=dev)
    vg.quantize_fp8_tensor(x, q, scale, static_scale=fixed)
    torch.cuda.synchronize()
    ok = same_bytes(q, e4m3(x.float() / fixed)) and scale[0].item() == fixed.item()
    record_exact("fp8 tensor quantize static input scale == QuantizeLinear (x / s, saturate)", ok)

    # activations per 1x128 group, rows padded to a multiple of 4
    for rows, cols, padded in [(77, 384, 80), (512, 1536, 512)]:
        x = rnd(rows, cols, scale=2.0)
        x[3, 128:256] = 0  # an all-zero group: scale 1, zero codes
        q = torch.full((padded, cols), 0x7f, device=dev, dtype=torch.uint8).view(torch.float8_e4m3fn)
        sc = torch.full((cols // 128, padded), float("nan"), device=dev)
        vg.quantize_fp8_groups(x, q, sc, padded)
        torch.cuda.synchronize()
        g = x.float().view(rows, cols // 128, 128)
        amax = g.abs().amax(-1)
        qs = torch.where(amax > 0, torch.reciprocal(amax) * E4M3_MAX, torch.ones_like(amax))  # 448 * (1/amax), as the fixture
        ref_q = e4m3(g * qs[..., None]).view(rows, cols)
        ok = same_bytes(q[:rows], ref_q) and bool((sc[:, :rows] == torch.reciprocal(qs).t()).all().item()) \
            and bool((q[rows:].view(torch.uint8) == 0).all().item()) and bool((sc[:, rows:] == 1).all().item())
        record_exact(f"fp8 1x128 group quantize [{rows},{cols}] pad {padded} == fixture rule", ok)

    # activations per row (token), one pass: a warp per row up to 2048 values, four warps per longer row (up to 12288
    # values in registers, longer ones read twice); row counts that leave a block part empty
    for dt, rows, cols in [(torch.bfloat16, 300, 1536), (torch.bfloat16, 65, 8960), (torch.float32, 33, 4096),
                           (torch.bfloat16, 7, 13320), (torch.bfloat16, 5, 24), (torch.bfloat16, 9, 2048),
                           (torch.float32, 9, 2056)]:
        x = rnd(rows, cols, dtype=dt, scale=2.0)
        x[min(3, rows - 1)] = 0  # an all-zero row: scale 1, zero codes
        x[0, cols // 3] = -17.5
        q = torch.full((rows, cols), 0x7f, device=dev, dtype=torch.uint8).view(torch.float8_e4m3fn)
        sc = torch.full((rows,), float("nan"), device=dev)
        vg.quantize_fp8_rows(x, q, sc)
        torch.cuda.synchronize()
        amax = x.float().abs().amax(-1)
        qs = torch.where(amax > 0, torch.reciprocal(amax) * E4M3_MAX, torch.ones_like(amax))
        ok = same_bytes(q, e4m3(x.float() * qs[:, None])) and bool((sc == torch.reciprocal(qs)).all().item())
        record_exact(f"fp8 per-row quantize {str(dt)[6:]} [{rows},{cols}] == 448 * (1/amax) per row (bytes, scales)", ok)
    # the same of GELU(x) (the GELU of the previous GEMM's epilogue moved into this pass), against the same rule applied
    # to torch's gelu(approximate="tanh") rounded to x's dtype: tanh.approx moves a few of those roundings by one step,
    # so codes are compared dequantized (rel. error) and scales within 1 %
    for dt, rows, cols in [(torch.bfloat16, 300, 8960), (torch.bfloat16, 65, 1536), (torch.float32, 17, 4096)]:
        x = rnd(rows, cols, dtype=dt, scale=2.0)
        g = torch.nn.functional.gelu(x.double(), approximate="tanh").to(dt).float()
        q = torch.empty(rows, cols, device=dev, dtype=torch.float8_e4m3fn)
        sc = torch.empty(rows, device=dev)
        vg.quantize_fp8_rows_gelu(x, q, sc)
        torch.cuda.synchronize()
        amax = g.abs().amax(-1)
        ref_sc = torch.where(amax > 0, amax / E4M3_MAX, torch.ones_like(amax))
        ok_sc = bool(((sc - ref_sc).abs() <= 0.01 * ref_sc).all().item())
        record_exact(f"fp8 per-row quantize of GELU {str(dt)[6:]} [{rows},{cols}]: scales within 1 % of torch's", ok_sc)
        ref = e4m3(g * (E4M3_MAX / amax)[:, None]).float() * ref_sc[:, None]  # torch's GELU through the same rule
        record(f"fp8 per-row quantize of GELU {str(dt)[6:]} [{rows},{cols}] dequantized vs the rule on torch's gelu",
               q.float() * sc[:, None], ref, tol=5e-3)
    expect_error("fp8 per-row quantize cols % 8 rejected",
                 lambda: vg.quantize_fp8_rows(rnd(4, 20), torch.empty(4, 20, device=dev, dtype=torch.float8_e4m3fn),
                                              torch.empty(4, device=dev)), 1)

    ws = torch.empty(64 << 20, device=dev, dtype=torch.uint8)
    # FP8 GEMM, per-row activation scales x per-output-feature weight scales (cuBLASLt OUTER_VEC on both operands; the
    # engine passes a per-tensor weight scale repeated N times)
    for m, n, k, epi in [(517, 1536, 1536, vgn.EPI_BIAS), (300, 8960, 1536, vgn.EPI_BIAS_GELU),
                         (1024, 1536, 8960, vgn.EPI_BIAS), (64, 4608, 1536, vgn.EPI_NONE)]:
        a = rnd(m, k)
        a[m // 2] *= 40  # one loud token: per-row scales keep the others' precision
        w = rnd(n, k, scale=1 / math.sqrt(k))
        w[n // 3] *= 30  # one loud output feature: a wrong or shifted weight scale vector shows in its column
        wq, w_scale = fp8_feature_rule(w)
        aq = torch.empty(m, k, device=dev, dtype=torch.float8_e4m3fn)
        a_scale = torch.empty(m, device=dev)
        vg.quantize_fp8_rows(a, aq, a_scale)
        has_bias = epi in (vgn.EPI_BIAS, vgn.EPI_BIAS_GELU)
        bias = rnd(n) if has_bias else None
        ref = fp8_rows_product(aq, a_scale, wq, w_scale)
        if has_bias:
            ref = ref + bias.double()
        if epi == vgn.EPI_BIAS_GELU:
            ref = gelu_tanh(ref)
        for fast in (False, True):
            try:
                plan = vg.fp8_gemm_plan(m, n, k, vgn.FP8_SCALING_ROWS, epi, fast_accumulation=fast)
            except vgn.VgError as e:
                record_exact(f"fp8 gemm per-row{' fast-accum' if fast else ''} m{m} n{n} k{k} epi{epi}: plan", False, str(e))
                continue
            out = poison(m, n)
            vg.fp8_gemm_run(plan, aq, a_scale, wq, w_scale, bias, out, ws)
            torch.cuda.synchronize()
            record_gemm(f"fp8 gemm per-row{' fast-accum' if fast else ''} m{m} n{n} k{k} epi{epi} (vs fp64 on dequantized operands)",
                        out, ref, 1 / 64 if fast else 1 / 128)
            vg.call("vg_fp8_gemm_plan_destroy", plan)

    # FP8 GEMM tuning, the algorithm blob reloaded into a fresh plan (what the engine cache does at load)
    m, n, k = 2048, 1536, 1536
    a, w, bias = rnd(m, k), rnd(n, k, scale=1 / math.sqrt(k)), rnd(n)
    wq, w_scale = fp8_feature_rule(w)
    aq = torch.empty(m, k, device=dev, dtype=torch.float8_e4m3fn)
    a_scale = torch.empty(m, device=dev)
    vg.quantize_fp8_rows(a, aq, a_scale)
    ref = fp8_rows_product(aq, a_scale, wq, w_scale) + bias.double()
    try:
        plan = vg.fp8_gemm_plan(m, n, k, vgn.FP8_SCALING_ROWS, vgn.EPI_BIAS, fast_accumulation=True)
        out = poison(m, n)
        best, tried = vg.fp8_gemm_tune(plan, aq, a_scale, wq, w_scale, bias, out, ws, candidates=8, iterations=3)
        blob = vg.fp8_gemm_get_algo(plan)
        plan2 = vg.fp8_gemm_plan(m, n, k, vgn.FP8_SCALING_ROWS, vgn.EPI_BIAS, fast_accumulation=True)
        vg.fp8_gemm_set_algo(plan2, blob)
        out = poison(m, n)
        vg.fp8_gemm_run(plan2, aq, a_scale, wq, w_scale, bias, out, ws)
        torch.cuda.synchronize()
        record_gemm(f"fp8 gemm per-row tuned ({tried} algos, best {best * 1e3:.0f} us) + algo blob reload (vs fp64)", out, ref, 1 / 64)
        bad = bytearray(blob)
        bad[0] ^= 0xFF
        expect_error("fp8 gemm set_algo rejects a corrupt blob", lambda: vg.fp8_gemm_set_algo(plan2, bytes(bad)), 1)
        expect_error("fp8 gemm tune rejects 0 candidates",
                     lambda: vg.fp8_gemm_tune(plan2, aq, a_scale, wq, w_scale, bias, out, ws, candidates=0), 1)
        vg.call("vg_fp8_gemm_plan_destroy", plan)
        vg.call("vg_fp8_gemm_plan_destroy", plan2)
    except vgn.VgError as e:
        record_exact("fp8 gemm per-row tuning", False, str(e))

    # FP8 GEMM, per-tensor scales: the library quantizes a (dynamic), the weight by the fixture's fp8 rule
    for m, n, k, epi in [(517, 1536, 1536, vgn.EPI_BIAS), (300, 8960, 1536, vgn.EPI_BIAS_GELU),
                         (1024, 1536, 8960, vgn.EPI_NONE), (1, 192, 32, vgn.EPI_BIAS)]:
        a = rnd(m, k)
        w = rnd(n, k, scale=1 / math.sqrt(k))
        wq, ws_ = fp8_tensor_rule(w)
        w_scale = torch.zeros(4, device=dev)
        w_scale[0] = ws_
        aq = torch.empty(m, k, device=dev, dtype=torch.float8_e4m3fn)
        a_scale = torch.empty(vgn.FP8_TENSOR_SCALE_FLOATS, device=dev)
        vg.quantize_fp8_tensor(a, aq, a_scale)
        has_bias = epi in (vgn.EPI_BIAS, vgn.EPI_BIAS_GELU)
        bias = rnd(n) if has_bias else None
        ref = (aq.float().double() * a_scale[0].double()) @ (wq.float().double() * w_scale[0].double()).t()
        if has_bias:
            ref = ref + bias.double()
        if epi == vgn.EPI_BIAS_GELU:
            ref = gelu_tanh(ref)
        for fast in (False, True):  # fp32-promoted sums, then the tensor core's own accumulator (FAST_ACCUM)
            plan = vg.fp8_gemm_plan(m, n, k, vgn.FP8_SCALING_TENSOR, epi, fast_accumulation=fast)
            out = poison(m, n)
            vg.fp8_gemm_run(plan, aq, a_scale, wq, w_scale, bias, out, ws)
            torch.cuda.synchronize()
            record_gemm(f"fp8 gemm per-tensor{' fast-accum' if fast else ''} m{m} n{n} k{k} epi{epi} (vs fp64 on dequantized operands)", out, ref,
                        1 / 64 if fast else 1 / 128)
            vg.call("vg_fp8_gemm_plan_destroy", plan)

    # FP8 GEMM, 1x128 activation groups x 128x128 weight blocks (K/128 = 70 checks the weight scales' row padding)
    for m, n, k in [(517, 1536, 1536), (256, 8960, 1536), (1024, 1536, 8960)]:
        a = rnd(m, k)
        w = rnd(n, k, scale=1 / math.sqrt(k))
        wq, wsb = fp8_block_rule(w)
        kb, kb4 = k // 128, (k // 128 + 3) // 4 * 4
        w_scale = torch.ones(n // 128, kb4, device=dev)
        w_scale[:, :kb] = wsb
        mp = (m + 3) // 4 * 4
        aq = torch.empty(mp, k, device=dev, dtype=torch.float8_e4m3fn)
        a_scale = torch.empty(kb, mp, device=dev)
        vg.quantize_fp8_groups(a, aq, a_scale, mp)
        plan = vg.fp8_gemm_plan(mp, n, k, vgn.FP8_SCALING_BLOCK128)
        out = poison(mp, n)
        vg.fp8_gemm_run(plan, aq, a_scale, wq, w_scale, None, out, ws)
        torch.cuda.synchronize()
        a_dq = (aq[:m].float().double().view(m, kb, 128) * a_scale[:, :m].t().double()[..., None]).view(m, k)
        w_dq = (wq.float().double().view(n // 128, 128, kb, 128) * wsb.double()[:, None, :, None]).view(n, k)
        record_gemm(f"fp8 gemm block128 m{m} (pad {mp}) n{n} k{k} (vs fp64 on dequantized operands)", out[:m], a_dq @ w_dq.t())
        vg.call("vg_fp8_gemm_plan_destroy", plan)
    expect_error("fp8 gemm k % 16 rejected", lambda: vg.fp8_gemm_plan(64, 64, 40), 1)
    expect_error("fp8 gemm block scaling with m % 4 rejected", lambda: vg.fp8_gemm_plan(130, 128, 128, vgn.FP8_SCALING_BLOCK128), 1)
    expect_error("fp8 gemm fast accumulation with block scaling rejected",
                 lambda: vg.fp8_gemm_plan(128, 128, 128, vgn.FP8_SCALING_BLOCK128, fast_accumulation=True), 1)

    # NVFP4 unpack, bit-exact against a Python reference (low nibble first, E2M1, e4m3 block scale * scale_2)
    for rows, cols in [(96, 256), (40, 48), (1536, 8960)]:
        packed = torch.randint(0, 256, (rows, cols // 2), device=dev, dtype=torch.uint8)
        bs = torch.randint(0, 0x7f, (rows, cols // 16), device=dev, dtype=torch.uint8)  # finite positive e4m3 (0x7f is NaN)
        s2 = torch.rand(1, device=dev) * 0.01 + 1e-4
        out = poison(rows, cols)
        vg.dequantize_nvfp4(packed, bs, s2, out)
        torch.cuda.synchronize()
        ref = nvfp4_dequant(packed, bs, s2).to(torch.bfloat16)
        ok = bool((out.view(torch.int16) == ref.view(torch.int16)).all().item())
        record_exact(f"nvfp4 unpack [{rows},{cols}] bit-exact vs Python reference", ok)
    expect_error("nvfp4 unpack cols % 16 rejected", lambda: vg.dequantize_nvfp4(packed, bs, s2, poison(8, 24)), 1)
    check_nvfp4_blackwell_path(vg)


E2M1_MIDPOINTS = (0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0)
E2M1_TABLE = (0, .5, 1, 1.5, 2, 3, 4, 6, 0, -.5, -1, -1.5, -2, -3, -4, -6)


def gelu_bound_scales(a_scale, k, norms, w_scale, bias):
    """vg_fp8_gelu_row_scales' rule in fp64: max(sqrt(k) · 448 · a_scale · max_n(norms) · |w_scale| + max|bias|, 0.17)
    · (1 + 1/64) / 448 per row."""
    wmax = norms.double().max() * w_scale.double().abs()
    bmax = bias.double().abs().max() if bias is not None else torch.zeros((), device=dev, dtype=torch.float64)
    bound = torch.clamp(math.sqrt(k) * E4M3_MAX * a_scale.double().abs() * wmax + bmax, min=0.17) * (1 + 1 / 64)
    return bound / E4M3_MAX


def check_fp8gelu(vg):
    """The FFN up projection writing the down projection's FP8 input (vg_fp8_gemm_gelu_rows, CUTLASS): the weight's row
    norms and the rows' bound scales against their rule; the codes against the same rule applied to the float64 GELU;
    and what matters, the down projection's output from these codes against the float64 FFN, next to the two-pass path
    (bf16 product, vg_quantize_fp8_rows_gelu) on the same operands."""
    try:
        ws_probe = vg.fp8_gemm_gelu_rows_workspace(128, 256, 128)
    except vgn.VgError as e:
        record_exact("fp8 GEMM + GELU + per-row quantize (CUTLASS): available", False, str(e))
        return
    record_exact(f"fp8 GEMM + GELU + per-row quantize (CUTLASS): available (workspace {ws_probe} bytes at 128x256x128)", True)
    for m, n, k, with_bias, n2 in [(300, 8960, 1536, True, 1536), (517, 1536, 1536, False, 512), (4096, 3072, 1024, True, 1024),
                                   (97, 256, 4096, True, 256)]:
        a = rnd(m, k, scale=2.0)
        a[m // 2] *= 40  # one loud token: its bound is its own
        w = rnd(n, k, scale=1 / math.sqrt(k))
        w[n // 3] *= 8  # one loud feature: raises every row's bound (max over features)
        wq, w_scale = fp8_tensor_rule(w)
        w_scale = w_scale.reshape(1).float()
        bias = rnd(n) if with_bias else None
        aq = torch.empty(m, k, device=dev, dtype=torch.float8_e4m3fn)
        a_scale = torch.empty(m, device=dev)
        vg.quantize_fp8_rows(a, aq, a_scale)
        norms = torch.full((n,), float("nan"), device=dev)
        vg.fp8_weight_row_norms(wq, norms)
        out_scale, row_scale, inv_half = (torch.full((m,), float("nan"), device=dev) for _ in range(3))
        vg.fp8_gelu_row_scales(a_scale, k, norms, w_scale, bias, out_scale, row_scale, inv_half)
        ws = torch.empty(max(vg.fp8_gemm_gelu_rows_workspace(m, n, k), 16), device=dev, dtype=torch.uint8)
        codes = torch.full((m, n), 0x7f, device=dev, dtype=torch.uint8).view(torch.float8_e4m3fn)
        vg.fp8_gemm_gelu_rows(aq, wq, bias, row_scale, inv_half, codes, ws)
        torch.cuda.synchronize()
        tag = f"m{m} n{n} k{k}{' bias' if with_bias else ''}"
        ref_norms = wq.float().double().pow(2).sum(1).sqrt()
        record(f"fp8 weight row norms [{n},{k}] vs fp64", norms, ref_norms, tol=1e-5)
        ref_scale = gelu_bound_scales(a_scale, k, ref_norms, w_scale, bias)
        record(f"fp8 GELU row bound scales {tag} vs the rule in fp64", out_scale, ref_scale, tol=1e-5)
        ok = bool((row_scale == a_scale * w_scale).all().item()) and bool((inv_half == 0.5 / out_scale).all().item())
        record_exact(f"fp8 GELU row scales {tag}: row_scale = a_scale · w_scale, inv_half = 0.5 / out_scale", ok)
        z = fp8_rows_product(aq, a_scale, wq, w_scale.expand(n))
        if bias is not None:
            z = z + bias.double()
        g = gelu_tanh(z)
        ok = bool(torch.isfinite(codes.float()).all().item()) and bool((g.abs() <= out_scale.double()[:, None] * E4M3_MAX).all().item())
        record_exact(f"fp8 GEMM + GELU codes {tag}: every code finite, |GELU| within the bound", ok)
        ref_codes = e4m3((g / out_scale.double()[:, None]).float())
        record(f"fp8 GEMM + GELU codes {tag} dequantized vs the rule on the fp64 GELU", codes.float() * out_scale[:, None],
               ref_codes.float() * out_scale[:, None], tol=2.5e-2)  # fast accumulation flips some roundings
        # the down projection from these codes vs from the two-pass path's, each against the fp64 FFN
        w2 = rnd(n2, n, scale=1 / math.sqrt(n))
        w2q, w2_scale = fp8_feature_rule(w2)
        exact = g @ (w2q.float().double() * w2_scale.double()[:, None]).t()
        fused = fp8_rows_product(codes, out_scale, w2q, w2_scale)
        two_q = torch.empty(m, n, device=dev, dtype=torch.float8_e4m3fn)
        two_s = torch.empty(m, device=dev)
        vg.quantize_fp8_rows_gelu(z.to(torch.bfloat16), two_q, two_s)
        two = fp8_rows_product(two_q, two_s, w2q, w2_scale)
        e_fused, e_two = rel(fused, exact), rel(two, exact)
        ok = e_fused <= 1.5 * e_two + 2e-3
        results.append((f"fp8 FFN down from the fused codes {tag}", e_fused, 1.5 * e_two + 2e-3, ok))
        print(f"{'PASS' if ok else 'FAIL'} fp8 FFN down from the fused codes {tag}: rel. L2 vs fp64 {e_fused:.3e} "
              f"(two-pass path {e_two:.3e}; bound / row max median {(out_scale.double() * E4M3_MAX / g.abs().amax(1)).median().item():.1f})",
              flush=True)
    expect_error("fp8 GEMM + GELU: k % 16 rejected",
                 lambda: vg.fp8_gemm_gelu_rows_workspace(64, 256, 24), 1)


def nvfp4_dequant(packed, bs, s2, dtype=torch.float32):
    """Packed NVFP4 [rows, cols/2] (low nibble first) with e4m3 block scales (bytes) [rows, cols/16] and scale_2, in
    `dtype`: E2M1(code) * (block scale * scale_2), each product in that precision."""
    rows, cols = packed.shape[0], packed.shape[1] * 2
    codes = torch.stack([packed & 0xF, packed >> 4], dim=-1).view(rows, cols).long()
    step = bs.view(torch.float8_e4m3fn).to(dtype) * s2.to(dtype)
    table = torch.tensor(E2M1_TABLE, device=packed.device, dtype=dtype)
    return (table[codes].view(rows, cols // 16, 16) * step[..., None]).view(rows, cols)


def e2m1_codes(v):
    """ModelOpt's E2M1 codes of float32 v (the fixture's rule): searchsorted over the midpoints, + 1 at exactly 0.75,
    1.75 and 2.5, sign bit 3 for v < 0."""
    a = v.abs()
    code = torch.searchsorted(torch.tensor(E2M1_MIDPOINTS, device=v.device), a.contiguous())
    code = code + ((a == 0.75) | (a == 1.75) | (a == 2.5)).long()
    return (code | torch.where(v < 0, 8, 0)).to(torch.uint8)


def nvfp4_rule(x):
    """The fixture's nvfp4 rule on x [rows, cols] (float32 steps): packed codes [rows, cols/2], e4m3 block scales
    [rows, cols/16] (bytes), scale_2."""
    rows, cols = x.shape
    x = x.float()
    # a tensor divisor: PyTorch divides by a Python scalar as a product with its reciprocal, an ulp off the true quotient
    s2 = x.abs().max() / torch.tensor(6.0 * E4M3_MAX, device=x.device)
    blocks = x.view(rows, cols // 16, 16)
    bamax = blocks.abs().amax(-1)
    ratio = torch.where(bamax == 0, torch.zeros_like(bamax), bamax / (6.0 * s2))
    bs = e4m3(torch.where(ratio == 0, torch.ones_like(ratio), ratio))
    step = bs.float() * s2
    q = torch.where(blocks == 0, torch.zeros_like(blocks), blocks / step[..., None])
    codes = e2m1_codes(q).view(rows, cols)
    return codes[:, 0::2] | (codes[:, 1::2] << 4), bs.view(torch.uint8), s2


def tiled_scales(bs):
    """[rows, blocks] scale bytes in cuBLASLt's VEC16 tiled layout (PyTorch's to_blocked): 128x4 tiles, row band by row
    band, inside a tile [32][4 row quarters][4 blocks]; zero padding."""
    rows, nb = bs.shape
    rt, ct = (rows + 127) // 128, (nb + 3) // 4
    pad = torch.zeros(rt * 128, ct * 4, device=bs.device, dtype=torch.uint8)
    pad[:rows, :nb] = bs
    t = pad.view(rt, 128, ct, 4).permute(0, 2, 1, 3).reshape(rt, ct, 4, 32, 4).transpose(2, 3)
    return t.reshape(-1)


def check_nvfp4_blackwell_path(vg):
    """The FP4 tensor-core path's operands (activation quantization, tiled scales) byte for byte against the fixture's
    rule in Python; the GEMM itself against fp64 on a compute capability 10+ GPU, its refusal naming the capability
    on older ones."""
    for rows, cols in [(77, 256), (300, 1536), (128, 48), (1000, 8960)]:
        for dt in (torch.bfloat16, torch.float32):
            x = rnd(rows, cols, dtype=dt, scale=2.0)
            x[3, 16:32] = 0  # an all-zero block: scale 1, zero codes
            x[5, 7] = -9.5
            nbytes = vg.nvfp4_tiled_scale_bytes(rows, cols)
            packed = torch.full((rows, cols // 2), 0xAA, device=dev, dtype=torch.uint8)
            tiled = torch.full((nbytes,), 0xAA, device=dev, dtype=torch.uint8)
            scale = torch.full((vgn.NVFP4_SCALE_FLOATS,), float("nan"), device=dev)
            vg.quantize_nvfp4(x, packed, tiled, scale)
            torch.cuda.synchronize()
            ref_packed, ref_bs, ref_s2 = nvfp4_rule(x)
            ok = nbytes == tiled_scales(ref_bs).numel() and same_bytes(packed, ref_packed) \
                and same_bytes(tiled, tiled_scales(ref_bs)) and scale[vgn.NVFP4_SCALE_2].item() == ref_s2.item()
            record_exact(f"nvfp4 activation quantize {str(dt)[6:]} [{rows},{cols}] == fixture rule (codes, tiled scales, scale_2)", ok)
    for rows, cols in [(96, 256), (1536, 8960), (200, 48)]:
        bs = torch.randint(0, 0x7f, (rows, cols // 16), device=dev, dtype=torch.uint8)
        tiled = torch.full((vg.nvfp4_tiled_scale_bytes(rows, cols),), 0xAA, device=dev, dtype=torch.uint8)
        vg.swizzle_nvfp4_scales(bs, cols, tiled)
        torch.cuda.synchronize()
        record_exact(f"nvfp4 weight scales [{rows},{cols // 16}] to the tiled layout == to_blocked", same_bytes(tiled, tiled_scales(bs)))
    major, _ = torch.cuda.get_device_capability()
    if major < 10:
        expect_error(f"nvfp4 gemm refused on compute capability {major}.x (no FP4 tensor cores)",
                     lambda: vg.nvfp4_gemm_plan(256, 256, 256), 2)
        return
    ws = torch.empty(64 << 20, device=dev, dtype=torch.uint8)
    for m, n, k in [(517, 1536, 1536), (300, 8960, 1536), (1024, 1536, 8960)]:
        a, w = rnd(m, k), rnd(n, k, scale=1 / math.sqrt(k))
        wq, wbs, ws2 = nvfp4_rule(w)
        w_tiled = torch.empty(vg.nvfp4_tiled_scale_bytes(n, k), device=dev, dtype=torch.uint8)
        vg.swizzle_nvfp4_scales(wbs.contiguous(), k, w_tiled)
        aq = torch.empty(m, k // 2, device=dev, dtype=torch.uint8)
        a_tiled = torch.empty(vg.nvfp4_tiled_scale_bytes(m, k), device=dev, dtype=torch.uint8)
        a_scale = torch.empty(vgn.NVFP4_SCALE_FLOATS, device=dev)
        vg.quantize_nvfp4(a, aq, a_tiled, a_scale)
        w_s2 = torch.zeros(4, device=dev)
        w_s2[0] = ws2
        alpha = torch.empty(4, device=dev)
        plan = vg.nvfp4_gemm_plan(m, n, k)
        out = poison(m, n)
        vg.call("vg_nvfp4_gemm_run", plan, vgn.ptr(aq), vgn.ptr(a_tiled), vgn.ptr(a_scale), vgn.ptr(wq), vgn.ptr(w_tiled),
                vgn.ptr(w_s2), vgn.ptr(alpha), vgn.ptr(out), vgn.ptr(ws), ws.numel(), vgn.C.c_void_p(0))
        torch.cuda.synchronize()
        _, a_bs, _ = nvfp4_rule(a)
        f64 = torch.float64
        ref = nvfp4_dequant(aq, a_bs, a_scale[vgn.NVFP4_SCALE_2], f64) @ nvfp4_dequant(wq, wbs, ws2, f64).t()
        record_gemm(f"nvfp4 gemm m{m} n{n} k{k} (vs fp64 on dequantized operands)", out, ref)
        vg.call("vg_nvfp4_gemm_plan_destroy", plan)


def read_safetensors(path):
    """name -> CPU tensor (F32, U8) of a safetensors file (json header + raw little-endian bytes)."""
    import json
    import struct
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        data = f.read()
    types = {"F32": torch.float32, "U8": torch.uint8}
    return {k: torch.frombuffer(bytearray(data[m["data_offsets"][0]:m["data_offsets"][1]]), dtype=types[m["dtype"]]).view(m["shape"])
            for k, m in head.items() if k != "__metadata__"}


def find_quant_fixture(given):
    here = os.path.dirname(os.path.abspath(__file__))
    for d in ([given] if given else []) + [os.path.join(here, "..", "..", p, "quant_ops") for p in
                                           (".peer/conformance", "shared/conformance", "../shared/conformance")]:
        if os.path.isfile(os.path.join(d, "golden.safetensors")):
            return d
    return None


def check_quant_fixture(vg, folder):
    """The library against the quantization fixture's goldens (shared/conformance/quant_ops): the same bytes and scales
    for x's per-tensor and 1x128 quantization, the NVFP4 unpack equal to bf16(golden dequant), and the FP8 and NVFP4
    linears against the golden float64 products of the dequantized operands."""
    g = {k: v.to(dev) for k, v in read_safetensors(os.path.join(folder, "golden.safetensors")).items()}
    x = g["x"].to(torch.bfloat16)  # every value of x is a bfloat16
    q = torch.empty(x.shape, device=dev, dtype=torch.float8_e4m3fn)
    scale = torch.empty(vgn.FP8_TENSOR_SCALE_FLOATS, device=dev)
    vg.quantize_fp8_tensor(x, q, scale)
    torch.cuda.synchronize()
    record_exact("fixture x.fp8: q bytes and scale", same_bytes(q, g["x.fp8.q"]) and scale[0].item() == g["x.fp8.scale"].item())
    rows, cols = x.shape
    qg = torch.empty(rows, cols, device=dev, dtype=torch.float8_e4m3fn)
    sg = torch.empty(cols // 128, rows, device=dev)
    vg.quantize_fp8_groups(x, qg, sg, rows)
    torch.cuda.synchronize()
    record_exact("fixture x.fp8_1x128: q bytes and dequant scales",
                 same_bytes(qg, g["x.fp8_1x128.q"]) and bool((sg.t() == g["x.fp8_1x128.dequant_scale"]).all().item()))
    for w in ("w1", "w2", "w3_ties"):
        packed, bs = g[f"{w}.nvfp4.packed"], g[f"{w}.nvfp4.block_scale"]
        s2 = g[f"{w}.nvfp4.scale_2"].view(1).contiguous()
        out = poison(packed.shape[0], packed.shape[1] * 2)
        vg.dequantize_nvfp4(packed.contiguous(), bs.contiguous(), s2, out)
        torch.cuda.synchronize()
        ref = g[f"{w}.nvfp4.dequant"].to(torch.bfloat16)
        record_exact(f"fixture {w}.nvfp4: unpack == bf16(golden dequant)", bool((out.view(torch.int16) == ref.view(torch.int16)).all().item()))
        # the activation quantizer (the FP4 tensor-core path's) on the same tensor: the fixture's bytes and scale_2
        rows_w, cols_w = g[w].shape
        q4 = torch.empty(rows_w, cols_w // 2, device=dev, dtype=torch.uint8)
        t4 = torch.empty(vg.nvfp4_tiled_scale_bytes(rows_w, cols_w), device=dev, dtype=torch.uint8)
        s4 = torch.empty(vgn.NVFP4_SCALE_FLOATS, device=dev)
        vg.quantize_nvfp4(g[w].float().contiguous(), q4, t4, s4)
        torch.cuda.synchronize()
        rp, rbs, rs2 = nvfp4_rule(g[w])
        record_exact(f"fixture {w}.nvfp4: quantize_nvfp4 == golden (codes, tiled scales, scale_2)",
                     same_bytes(q4, packed) and same_bytes(t4, tiled_scales(bs)) and s4[vgn.NVFP4_SCALE_2].item() == s2.item())
        record_exact(f"fixture {w}.nvfp4: the Python rule of these checks == golden",
                     same_bytes(rp, packed) and same_bytes(rbs, bs) and rs2.item() == s2.item())
    # linear.fp8: x (fp8, per tensor) · w1 (fp8, per tensor)ᵀ
    ws = torch.empty(64 << 20, device=dev, dtype=torch.uint8)
    w_scale = torch.zeros(4, device=dev)
    w_scale[0] = g["w1.fp8.scale"]
    plan = vg.fp8_gemm_plan(rows, 96, cols)
    out = poison(rows, 96)
    vg.fp8_gemm_run(plan, q, scale, g["w1.fp8.q"].view(torch.float8_e4m3fn), w_scale, None, out, ws)
    torch.cuda.synchronize()
    record_gemm("fixture linear.fp8.out (FP8 GEMM on the fixture's codes)", out, g["linear.fp8.out"])
    vg.call("vg_fp8_gemm_plan_destroy", plan)
    # linear.nvfp4_weight_only: x · unpacked w1ᵀ through the bf16 GEMM
    w1 = poison(96, cols)
    vg.dequantize_nvfp4(g["w1.nvfp4.packed"].contiguous(), g["w1.nvfp4.block_scale"].contiguous(), g["w1.nvfp4.scale_2"].view(1).contiguous(), w1)
    plan = vg.gemm_plan(rows, 96, cols, vgn.WEIGHT_NK)
    out = poison(rows, 96)
    vg.gemm_run(plan, x, w1, None, None, out, ws)
    torch.cuda.synchronize()
    record_gemm("fixture linear.nvfp4_weight_only.out (unpack + bf16 GEMM)", out, g["linear.nvfp4_weight_only.out"])
    vg.call("vg_gemm_plan_destroy", plan)


def attention_ref(q, k, v, scale):
    """q [B, Sq, H, D], k/v [B, Skv, Hkv, D] -> [B, Sq, H, D] in float64-accumulated float32 chunks."""
    B, Sq, H, D = q.shape
    Hkv = k.shape[2]
    qh = q.double().permute(0, 2, 1, 3)
    kh = k.double().permute(0, 2, 1, 3).repeat_interleave(H // Hkv, dim=1)
    vh = v.double().permute(0, 2, 1, 3).repeat_interleave(H // Hkv, dim=1)
    p = torch.softmax((qh @ kh.transpose(-1, -2)) * scale, dim=-1)
    return (p @ vh).permute(0, 2, 1, 3)


def check_attention(vg):
    cases = [  # B, H, Hkv, Sq, Skv, D, layout
        (2, 12, 12, 1000, 1000, 128, "bshd"),
        (2, 12, 12, 777, 512, 128, "bshd"),
        (1, 8, 8, 640, 640, 64, "bshd"),
        (2, 12, 12, 500, 500, 128, "bhsd"),
        (1, 8, 2, 384, 384, 64, "bshd"),
    ]
    for B, H, Hkv, Sq, Skv, D, layout in cases:
        q, k, v = rnd(B, Sq, H, D), rnd(B, Skv, Hkv, D), rnd(B, Skv, Hkv, D)
        out = poison(B, Sq, H, D)
        if layout == "bhsd":  # physical [B, H, S, D]; pass views' strides in (b, s, h, d) order
            qp, kp, vp_ = (t.permute(0, 2, 1, 3).contiguous() for t in (q, k, v))
            op = poison(B, H, Sq, D)
            st = lambda t: (t.stride(0), t.stride(2), t.stride(1), t.stride(3))  # noqa: E731
            plan = vg.attention_plan(B, H, Sq, Skv, D, st(qp), st(kp), st(vp_), st(op), kv_heads=Hkv)
            ws_n = vg.attention_workspace(plan)
            ws = torch.empty(max(ws_n, 1), device=dev, dtype=torch.uint8)
            vg.attention_run(plan, qp, kp, vp_, op, ws)
            out = op.permute(0, 2, 1, 3)
        else:
            plan = vg.attention_plan(B, H, Sq, Skv, D, kv_heads=Hkv)
            ws_n = vg.attention_workspace(plan)
            ws = torch.empty(max(ws_n, 1), device=dev, dtype=torch.uint8)
            vg.attention_run(plan, q, k, v, out, ws)
        torch.cuda.synchronize()
        record(f"attention B{B} H{H}/{Hkv} Sq{Sq} Skv{Skv} D{D} {layout}", out, attention_ref(q, k, v, D ** -0.5))
        vg.call("vg_attention_plan_destroy", plan)
    expect_error("attention head_dim 12 rejected", lambda: vg.attention_plan(1, 2, 64, 64, 12), 2)
    expect_error("attention fp8 head_dim 256 rejected",
                 lambda: vg.attention_plan(1, 2, 64, 64, 256, dtype=vgn.FP8_E4M3), 2)
    expect_error("attention heads % kv_heads rejected", lambda: vg.attention_plan(1, 6, 64, 64, 64, kv_heads=4), 1)


# ------------------------------------------------------------------------------------------------
# Sage-style quantized attention (vg_sage_attention_*): INT8 Q·Kᵀ with smoothed K, FP8 P·V.
def cosine(a, b):
    a, b = a.double().flatten(), b.double().flatten()
    return (a @ b / (a.norm() * b.norm())).item()


def sdpa_ref(q, k, v, scale):
    """torch SDPA in fp32 on [B, S, H, D] tensors (GQA by repeating kv heads) -> [B, Sq, H, D] fp32."""
    H, Hkv = q.shape[2], k.shape[2]
    qh = q.float().permute(0, 2, 1, 3)
    kh = k.float().permute(0, 2, 1, 3).repeat_interleave(H // Hkv, dim=1)
    vh = v.float().permute(0, 2, 1, 3).repeat_interleave(H // Hkv, dim=1)
    return torch.nn.functional.scaled_dot_product_attention(qh, kh, vh, scale=scale).permute(0, 2, 1, 3)


def quant_i8_groups(x, group):
    """x [B, H, S, D] fp32 -> (int codes as fp32, scale per `group` tokens [B, H, S_pad/group, 1, 1]); S padded."""
    B, H, S, D = x.shape
    pad = (-S) % group
    xp = torch.nn.functional.pad(x, (0, 0, 0, pad)).view(B, H, -1, group, D)
    amax = xp.abs().amax(dim=(-1, -2), keepdim=True)
    inv = torch.where(amax > 0, 127.0 / amax, torch.zeros_like(amax))
    codes = torch.round(xp * inv).clamp(-127, 127)
    return codes.view(B, H, -1, D)[:, :, :S], amax / 127.0


LOG2_E4M3_MAX = math.log2(448.0)


def linear_mantissa_p(z):
    """The wgmma kernel's P for log2-domain scores z = s - m <= 0: 448 * 2^z with a 3-bit linear mantissa, built as its
    e4m3 code J = clamp(round(8 * (z + log2 448 + 7) - 0.459), 0, 126) read as e4m3 bits (J < 8: the denormal J * 2^-9,
    where 448 * 2^z is 2^-7 * (1 + J/8); below, 0)."""
    y = z + LOG2_E4M3_MAX
    yn = ((8.0 * (y + 7.0) - 0.459) / 126.0).clamp(0.0, 1.0)
    j = torch.round(yn * 126.0)  # the kernel's magic-number rounding: to nearest, ties to even
    e, mant = torch.floor(j / 8.0), torch.remainder(j, 8.0)
    return torch.where(j >= 8, torch.exp2(e - 7.0) * (1.0 + mant / 8.0), j * 2.0 ** -9)


def sage_emulate(q, k, v, scale, block_k, smooth=True, fp8_pv=True, q_group=16, k_group=64, kernel="mma.sync"):
    """The kernel's algorithm in fp32 torch (same groups, scales, roundings and block-wise online softmax). kernel
    "wgmma": P of the whole key blocks by linear_mantissa_p (the masked last block by exp2), row sums of the e4m3 P."""
    H, Hkv = q.shape[2], k.shape[2]
    qf, kf, vf = (t.float().permute(0, 2, 1, 3) for t in (q, k, v))
    if smooth:
        kf = kf - kf.mean(dim=2, keepdim=True)
    qc, qs = quant_i8_groups(qf, q_group)
    kc, ks = quant_i8_groups(kf, k_group)
    Sq, Skv = qf.shape[2], kf.shape[2]
    qs = qs.view(qs.shape[0], qs.shape[1], -1).repeat_interleave(q_group, dim=2)[:, :, :Sq]
    ks = ks.view(ks.shape[0], ks.shape[1], -1).repeat_interleave(k_group, dim=2)[:, :, :Skv]
    rep = H // Hkv
    kc, ks = kc.repeat_interleave(rep, dim=1), ks.repeat_interleave(rep, dim=1)
    s = (qc @ kc.transpose(-1, -2)) * (qs * scale * 1.4426950408889634)[..., None] * ks[:, :, None, :]
    if fp8_pv:
        vsc = vf.abs().amax(dim=2, keepdim=True) / 448.0
        v8 = torch.where(vsc > 0, vf / vsc, torch.zeros_like(vf)).clamp(-448, 448).to(torch.float8_e4m3fn).float()
    else:
        vsc, v8 = torch.ones_like(vf[:, :, :1]), vf
    v8, vsc = v8.repeat_interleave(rep, dim=1), vsc.repeat_interleave(rep, dim=1)
    m = torch.full(s.shape[:-1], float("-inf"), device=dev)
    l = torch.zeros_like(m)
    o = torch.zeros(*s.shape[:-1], v8.shape[-1], device=dev)
    for kb in range(0, Skv, block_k):
        sb = s[..., kb:kb + block_k]
        mx = torch.maximum(m, sb.amax(-1))
        alpha = torch.exp2(m - mx)
        if kernel == "wgmma":
            p8 = linear_mantissa_p(sb - mx[..., None]) if kb + block_k <= Skv else torch.exp2(sb - mx[..., None]) * 448.0
            p8 = p8.to(torch.float8_e4m3fn).float()
            l = l * alpha + p8.sum(-1) / 448.0
        else:
            p = torch.exp2(sb - mx[..., None])
            l = l * alpha + p.sum(-1)
            p8 = (p * 448.0).to(torch.float8_e4m3fn).float() if fp8_pv else p * 448.0
        o = o * alpha[..., None] + p8 @ v8[:, :, kb:kb + block_k]
        m = mx
    return (o * vsc / (448.0 * l[..., None])).permute(0, 2, 1, 3)


MMA, WGMMA = vgn.SAGE_KERNEL_MMA, vgn.SAGE_KERNEL_WGMMA
SAGE_KERNEL_NAMES = {MMA: "mma.sync", WGMMA: "wgmma"}


def sage_attention(vg, q, k, v, block_q=0, block_k=0, strides=None, out=None, kernel=0, groups=(0, 0)):
    """-> (out, (block_q, block_k), kernel name) of the plan that ran; groups: (q_scale_tokens, k_scale_tokens)."""
    B, Sq, H, D = q.shape
    Skv, Hkv = k.shape[1], k.shape[2]
    st = strides or ((0, 0, 0, 0),) * 4
    plan = vg.sage_plan(B, H, Sq, Skv, D, *st, kv_heads=Hkv, block_q=block_q, block_k=block_k, kernel=kernel,
                        q_scale_tokens=groups[0], k_scale_tokens=groups[1])
    try:
        ws = torch.empty(vg.sage_workspace(plan), device=dev, dtype=torch.uint8)
        if out is None:
            out = poison(B, Sq, H, D)
        vg.sage_run(plan, q, k, v, out, ws)
        torch.cuda.synchronize()
        return out, vg.sage_blocks(plan), SAGE_KERNEL_NAMES[vg.sage_kernel(plan)]
    finally:
        vg.call("vg_sage_attention_plan_destroy", plan)


def fp8_tensor_attention(vg, q, k, v):
    """Today's per-tensor FP8 path (quantize, cuDNN FP8 SDPA, dequantize), as the engine runs it."""
    B, Sq, H, D = q.shape
    (q8, sq), (k8, sk), (v8, sv) = (fp8_quantize(vg, t) for t in (q, k, v))
    o8 = torch.empty(B, Sq, H, D, device=dev, dtype=torch.float8_e4m3fn)
    plan = vg.attention_plan(B, H, Sq, k.shape[1], D, kv_heads=k.shape[2], dtype=vgn.FP8_E4M3)
    try:
        ws = torch.empty(max(vg.attention_workspace(plan), 1), device=dev, dtype=torch.uint8)
        vg.attention_run(plan, q8, k8, v8, o8, ws, scales=(sq, sk, sv, sv))
        out = poison(B, Sq, H, D)
        vg.dequantize_fp8(o8, sv, out)
        torch.cuda.synchronize()
        return out
    finally:
        vg.call("vg_attention_plan_destroy", plan)


SAGE_COSINE = 0.999  # expected cosine vs fp32 SDPA at these shapes


def record_cosine(name, cos, floor):
    ok = cos == cos and cos >= floor
    results.append((name, 1 - cos, 1 - floor, ok))
    print(f"{'PASS' if ok else 'FAIL'} {name}: cosine {cos:.6f} (floor {floor})", flush=True)


def check_sage(vg):
    # Against the emulation of its own algorithm (same quantization, so only rounding-order noise and the bf16 output
    # remain: a wrong fragment layout or scale shows here as an O(1) error), and against fp32 SDPA by cosine.
    # q and k are drawn with std 1.5 (softmax peakier than with std 1, closer to a DiT's attention).
    cases = [  # B, H, Hkv, Sq, Skv, D, block_q, block_k, kernel
        (1, 8, 8, 1000, 1000, 64, 0, 0, 0),     # S not a multiple of any block; head_dim 64 (auto: mma.sync)
        (2, 12, 12, 777, 777, 128, 64, 64, MMA),
        (2, 12, 12, 777, 777, 128, 64, 128, MMA),
        (2, 12, 12, 777, 777, 128, 128, 64, MMA),
        (2, 12, 12, 777, 777, 128, 128, 128, MMA),
        (2, 12, 12, 777, 777, 128, 0, 192, WGMMA),   # 192-key blocks: the last one 9 keys
        (2, 12, 12, 777, 777, 128, 0, 128, WGMMA),   # 128-key blocks
        (1, 4, 4, 333, 1000, 128, 0, 192, WGMMA),    # 192: the last block 40 keys, past the last key scale
        (1, 4, 4, 333, 200, 128, 0, 128, MMA),  # q_len != kv_len, the last key block mostly masked
        (1, 4, 4, 333, 200, 128, 0, 192, WGMMA),
        (1, 4, 4, 200, 333, 128, 0, 0, WGMMA),  # the last key block: 77 keys, its second 64-key half all padding
        (1, 2, 2, 256, 1024, 128, 0, 0, WGMMA), # whole blocks only (no masking), several passes of the stage ring
        (1, 8, 2, 384, 384, 64, 128, 128, MMA), # GQA
        (1, 8, 2, 384, 384, 128, 0, 0, WGMMA),  # GQA
        (1, 2, 2, 17, 5, 64, 0, 0, MMA),        # tiny: one partial block each
        (1, 2, 2, 17, 5, 128, 0, 0, WGMMA),
    ]
    for B, H, Hkv, Sq, Skv, D, bq, bk, kern in cases:
        q, k, v = rnd(B, Sq, H, D, scale=1.5), rnd(B, Skv, Hkv, D, scale=1.5), rnd(B, Skv, Hkv, D)
        try:
            out, (pbq, pbk), kname = sage_attention(vg, q, k, v, bq, bk, kernel=kern)
        except vgn.VgError as e:
            results.append((f"sage B{B} H{H}/{Hkv} Sq{Sq} Skv{Skv} D{D} kernel {kern}", 1.0, 0, False))
            print(f"FAIL sage B{B} H{H}/{Hkv} Sq{Sq} Skv{Skv} D{D} kernel {kern}: {e}")
            continue
        name = f"sage {kname} B{B} H{H}/{Hkv} Sq{Sq} Skv{Skv} D{D} blocks {pbq}x{pbk}"
        record(name + " vs its fp32 emulation", out, sage_emulate(q, k, v, D ** -0.5, pbk, kernel=kname), tol=1e-2)
        ref = sdpa_ref(q, k, v, D ** -0.5)
        if Skv >= 64:
            record_cosine(name + " vs fp32 SDPA", cosine(out, ref), SAGE_COSINE)
        else:  # a handful of keys: no averaging of the E4M3 roundings of P and V, so no accuracy claim; layout test only
            print(f"INFO {name} vs fp32 SDPA: cosine {cosine(out, ref):.6f}")
        if (bq, bk, kern) == (64, 64, MMA) or (bq, bk, kern) == (0, 0, 0):
            try:
                print(f"INFO per-tensor FP8 (cuDNN) at the same inputs: cosine {cosine(fp8_tensor_attention(vg, q, k, v), ref):.6f}")
            except vgn.VgError as e:
                print(f"INFO per-tensor FP8 path not runnable at this shape: {e}")
    # Coarser scale groups (q_scale_tokens, k_scale_tokens): the pre-pass repeats a group's scale into the main kernels'
    # 16-query / 64-key slots, so both kernels run them unchanged. Sq = 777 leaves a partial last group of every size.
    for (qg, kg), kern in itertools.product(((32, 64), (64, 128), (128, 128), (16, 128)), (MMA, WGMMA)):
        B, H, S, D = 1, 4, 777, 128
        q, k, v = rnd(B, S, H, D, scale=1.5), rnd(B, S, H, D, scale=1.5), rnd(B, S, H, D)
        out, (_, pbk), kname = sage_attention(vg, q, k, v, kernel=kern, groups=(qg, kg))
        name = f"sage {kname} B{B} H{H} S{S} D{D} scales per {qg} queries / {kg} keys"
        record(name + " vs its fp32 emulation", out, sage_emulate(q, k, v, D ** -0.5, pbk, q_group=qg, k_group=kg, kernel=kname), tol=1e-2)
        record_cosine(name + " vs fp32 SDPA", cosine(out, sdpa_ref(q, k, v, D ** -0.5)), SAGE_COSINE)
    # The wgmma kernel's key block when the plan leaves it open: 192, or 128 where a short key sequence would pad a
    # 192-key block (Wan's cross-attention on 512 text tokens)
    for skv, want in ((32760, 192), (4608, 192), (512, 128), (1024, 128)):
        plan = vg.sage_plan(2, 12, 4096, skv, 128, kernel=WGMMA)
        try:
            got = vg.sage_blocks(plan)[1]
        finally:
            vg.call("vg_sage_attention_plan_destroy", plan)
        results.append((f"sage wgmma default key block at {skv} keys", 0.0, 0.0, got == want))
        print(f"{'PASS' if got == want else 'FAIL'} sage wgmma default key block at {skv} keys: {got} (expected {want})")
    for kern in (MMA, WGMMA):
        check_sage_plumbing(vg, kern)
    check_sage_q_prologue(vg)
    check_sage_accuracy(vg)


def r256(n):
    return (n + 255) // 256 * 256


def check_sage_q_prologue(vg):
    """vg_sage_quantize_q_norm_rope (Q's codes straight from q's projection) against the unfused chain, vg_rmsnorm_rope
    then the pre-pass: the same codes and scales up to the RMSNorm's summation order (a warp's sum there, a block's
    here: now and then one bf16 rounding, and so one code, a step apart), and VG_SAGE_PHASE_KV_ATTEND on them against
    VG_SAGE_PHASE_ALL on the unfused q."""
    cases = [  # name, B, H, D, (T, Hs, Ws) or tokens, Skv, rope, kernel
        ("Wan self-attention (strided qkv, RMSNorm + RoPE)", 2, 12, 128, (3, 6, 10), None, True, WGMMA),
        ("cross-attention (RMSNorm only, Skv 77)", 1, 4, 64, 300, 77, False, 0),
        ("Wan 14B width (40 heads)", 1, 40, 128, (2, 4, 6), None, True, WGMMA),
    ]
    for name, B, H, D, grid, skv, rope, kern in cases:
        tokens = grid[0] * grid[1] * grid[2] if isinstance(grid, tuple) else grid
        skv = skv or tokens
        Cc = H * D
        qkv = rnd(B * tokens, 3 * Cc, scale=2.0)  # q is columns [0, C) of a fused projection
        w = rnd(Cc) + 1
        cos, sin = wan_rope_tables(*grid, D) if rope else (None, None)
        k, v = rnd(B, skv, H, D, scale=1.5), rnd(B, skv, H, D)
        plan = vg.sage_plan(B, H, tokens, skv, D, kernel=kern)
        sq_pad, skv_pad = (tokens + 127) // 128 * 128, (skv + 127) // 128 * 128
        q_bytes, qs_count = B * H * sq_pad * D, B * H * sq_pad // 16
        # unfused: the bf16 q, then the pre-pass into the workspace (q8 first, its scales after k8 and vt8)
        q = poison(B * tokens, Cc)
        if rope:
            vg.rmsnorm_rope(qkv, q, B * tokens, tokens, H, D, 1e-6, w, cos, sin, x_stride=3 * Cc)
        else:
            vg.norm_modulate(vgn.NORM_RMS, qkv[:, :Cc].contiguous(), q, B * tokens, tokens, Cc, 1e-6, weight=w)
        ws = torch.zeros(vg.sage_workspace(plan), device=dev, dtype=torch.uint8)
        out_ref = poison(B, tokens, H, D)
        vg.sage_run(plan, q, k, v, out_ref, ws)
        codes = torch.zeros(vg.sage_q_codes_bytes(plan), device=dev, dtype=torch.uint8)
        vg.sage_quantize_q_norm_rope(plan, qkv, codes, 1e-6, w, cos, sin, x_stride=3 * Cc)
        out = poison(B, tokens, H, D)
        vg.sage_run(plan, codes, k, v, out, ws, phase=vgn.SAGE_PHASE_KV_ATTEND)
        torch.cuda.synchronize()
        qs_at = r256(q_bytes) + r256(B * H * skv_pad * D) + r256(B * H * D * skv_pad)
        ref_codes, got_codes = ws[:q_bytes].view(torch.int8).int(), codes[:q_bytes].view(torch.int8).int()
        ref_scales = ws[qs_at:qs_at + 4 * qs_count].view(torch.float32)
        got_scales = codes[r256(q_bytes):r256(q_bytes) + 4 * qs_count].view(torch.float32)
        step = (got_codes - ref_codes).abs().max().item()
        differ = (got_codes != ref_codes).float().mean().item()
        srel = ((got_scales - ref_scales).abs() / ref_scales.abs().clamp_min(1e-30)).max().item()
        # a bf16 rounding moved by the sum's order moves its code a step; if it is a group's maximum, the group's scale
        # moves by one bf16 step (2^-8) and its 2048 codes may each move a step: up to a percent of the codes, rarely
        ok = step <= 1 and differ <= 1e-2 and srel <= 8e-3
        results.append((f"sage q prologue {name}: codes and scales", float(differ), 1e-2, ok))
        print(f"{'PASS' if ok else 'FAIL'} sage q prologue {name}: codes and scales vs rmsnorm_rope + pre-pass: "
              f"{differ:.2e} of the codes differ (at most by {step}), scales within {srel:.1e}")
        record(f"sage q prologue {name}: KV_ATTEND output vs the unfused run", out, out_ref, tol=2e-3)
        if name.startswith("Wan self"):
            expect_error("sage q prologue: q_codes too small rejected",
                         lambda: vg.sage_quantize_q_norm_rope(plan, qkv, codes[:codes.numel() // 2], 1e-6, w, cos, sin,
                                                              x_stride=3 * Cc), 1)
            coarse = vg.sage_plan(B, H, tokens, skv, D, kernel=kern, q_scale_tokens=32)
            expect_error("sage q prologue: a plan scaling per 32 queries rejected",
                         lambda: vg.sage_quantize_q_norm_rope(coarse, qkv, codes, 1e-6, w, cos, sin, x_stride=3 * Cc), 1)
            vg.call("vg_sage_attention_plan_destroy", coarse)
        vg.call("vg_sage_attention_plan_destroy", plan)


def check_sage_plumbing(vg, kern):
    """(b, h, s, d) storage through strides, the two phases run apart, and a CUDA-graph capture, for one kernel."""
    kn = SAGE_KERNEL_NAMES[kern]
    B, H, S, D = 2, 4, 300, 128
    q, k, v = rnd(B, S, H, D, scale=1.5), rnd(B, S, H, D, scale=1.5), rnd(B, S, H, D)
    qp, kp, vp_ = (t.permute(0, 2, 1, 3).contiguous() for t in (q, k, v))
    op = poison(B, H, S, D)
    st = lambda t: (t.stride(0), t.stride(2), t.stride(1), t.stride(3))  # noqa: E731
    plan = vg.sage_plan(B, H, S, S, D, st(qp), st(kp), st(vp_), st(op), kernel=kern)
    bk = vg.sage_blocks(plan)[1]
    ws = torch.empty(vg.sage_workspace(plan), device=dev, dtype=torch.uint8)
    vg.sage_run(plan, qp, kp, vp_, op, ws)
    torch.cuda.synchronize()
    record(f"sage {kn} [B, H, S, D] strides vs its emulation", op.permute(0, 2, 1, 3),
           sage_emulate(q, k, v, D ** -0.5, bk, kernel=kn), tol=1e-2)
    # the two phases run separately give the same bytes, and a CUDA-graph capture of the whole run replays them
    o2 = poison(B, H, S, D)
    vg.sage_run(plan, qp, kp, vp_, None, ws, phase=vgn.SAGE_PHASE_QUANTIZE)
    vg.sage_run(plan, None, None, None, o2, ws, phase=vgn.SAGE_PHASE_ATTEND)
    torch.cuda.synchronize()
    same = bool(torch.equal(o2, op))
    results.append((f"sage {kn} quantize + attend phases == one run", 0.0 if same else 1.0, 0, same))
    print(f"{'PASS' if same else 'FAIL'} sage {kn} quantize + attend phases == one run (bitwise)")
    o3 = poison(B, H, S, D)
    try:
        g = torch.cuda.CUDAGraph()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.graph(g, stream=side):
            vg.sage_run(plan, qp, kp, vp_, o3, ws, stream=side.cuda_stream)
        g.replay()
        torch.cuda.synchronize()
        same, why = bool(torch.equal(o3, op)), ""
    except Exception as e:  # a capture failure is this check's failure, not the group's
        same, why = False, f" ({type(e).__name__}: {e})"
    results.append((f"sage {kn} in a CUDA graph == eager", 0.0 if same else 1.0, 0, same))
    print(f"{'PASS' if same else 'FAIL'} sage {kn} captured in a CUDA graph and replayed == eager (bitwise){why}")
    expect_error(f"sage {kn} workspace too small rejected",
                 lambda: vg.sage_run(plan, qp, kp, vp_, op, ws[:ws.numel() // 2]), 1)
    vg.call("vg_sage_attention_plan_destroy", plan)


def check_sage_accuracy(vg):
    # K with a large per-channel mean (as DiT keys have): smoothing keeps INT8 K's resolution for the part that
    # matters. The emulation without smoothing shows what per-block INT8 would give without it.
    B, H, S, D = 1, 8, 1024, 128
    q = rnd(B, S, H, D, scale=1.5)
    k = (torch.randn(B, S, H, D, device=dev) + 20.0 * torch.randn(1, 1, H, D, device=dev)).to(torch.bfloat16)
    v = rnd(B, S, H, D)
    out, (_, bk), kn = sage_attention(vg, q, k, v)
    ref = sdpa_ref(q, k, v, D ** -0.5)
    c_sage = cosine(out, ref)
    c_nosmooth = cosine(sage_emulate(q, k, v, D ** -0.5, 64, smooth=False), ref)
    record_cosine(f"sage {kn}, K mean 20x its spread, vs fp32 SDPA", c_sage, SAGE_COSINE)
    print(f"INFO the same without K smoothing (fp32 emulation): cosine {c_nosmooth:.6f}")
    record(f"sage {kn}, large-mean K, vs its emulation", out, sage_emulate(q, k, v, D ** -0.5, bk, kernel=kn), tol=1e-2)
    try:
        c_fp8 = cosine(fp8_tensor_attention(vg, q, k, v), ref)
        print(f"INFO per-tensor FP8 (cuDNN) on the large-mean K: cosine {c_fp8:.6f}")
    except vgn.VgError as e:
        print(f"INFO per-tensor FP8 path not runnable here: {e}")

    # Wan 2.1 1.3B self-attention, one batch item (480p, 81 frames: 21 x 30 x 52 = 32760 tokens, 12 heads of 128)
    B, H, S, D = 1, 12, 32760, 128
    q, k, v = rnd(B, S, H, D, scale=1.5), rnd(B, S, H, D, scale=1.5), rnd(B, S, H, D)
    ref = sdpa_ref(q, k, v, D ** -0.5)
    for kern in (MMA, WGMMA):
        out, blocks, kn = sage_attention(vg, q, k, v, kernel=kern)
        record_cosine(f"sage {kn} Wan B1 H12 S32760 D128 blocks {blocks[0]}x{blocks[1]} vs fp32 SDPA", cosine(out, ref),
                      SAGE_COSINE)
    try:
        c_fp8 = cosine(fp8_tensor_attention(vg, q, k, v), ref)
        print(f"INFO per-tensor FP8 (cuDNN) at the Wan shape: cosine {c_fp8:.6f}")
    except vgn.VgError as e:
        print(f"INFO per-tensor FP8 path not runnable here: {e}")
    del q, k, v, ref, out

    expect_error("sage head_dim 96 rejected", lambda: vg.sage_plan(1, 2, 64, 64, 96), 2)
    expect_error("sage wgmma with head_dim 64 rejected", lambda: vg.sage_plan(1, 2, 64, 64, 64, kernel=WGMMA), 2)
    expect_error("sage wgmma with 64-key blocks rejected", lambda: vg.sage_plan(1, 2, 64, 64, 128, block_k=64, kernel=WGMMA), 2)
    expect_error("sage mma.sync with 192-key blocks rejected", lambda: vg.sage_plan(1, 2, 64, 64, 128, block_k=192, kernel=MMA), 2)
    expect_error("sage block_k 96 rejected", lambda: vg.sage_plan(1, 2, 64, 64, 128, block_k=96), 1)
    expect_error("sage kernel 7 rejected", lambda: vg.sage_plan(1, 2, 64, 64, 128, kernel=7), 1)
    expect_error("sage block_q 32 rejected", lambda: vg.sage_plan(1, 2, 64, 64, 64, block_q=32), 1)
    expect_error("sage heads % kv_heads rejected", lambda: vg.sage_plan(1, 6, 64, 64, 64, kv_heads=4), 1)
    expect_error("sage q_scale_tokens 48 rejected", lambda: vg.sage_plan(1, 2, 64, 64, 128, q_scale_tokens=48), 1)
    expect_error("sage k_scale_tokens 32 rejected", lambda: vg.sage_plan(1, 2, 64, 64, 128, k_scale_tokens=32), 1)


# ------------------------------------------------------------------------------------------------
def check_norms(vg):
    # Wan norm1: LayerNorm (no affine, eps 1e-6) * (1 + scale) + shift, fp32 per-batch vectors.
    for B, T, Cc, xdt in [(2, 300, 1536, torch.bfloat16), (2, 77, 5120, torch.bfloat16), (1, 50, 10240, torch.float32)]:
        rows = B * T
        x = rnd(rows, Cc, dtype=xdt, scale=3.0) + 0.5
        sc, sh = rnd(B, Cc, dtype=torch.float32, scale=0.3), rnd(B, Cc, dtype=torch.float32)
        out = poison(rows, Cc)
        vg.norm_modulate(vgn.NORM_LAYER, x, out, rows, T, Cc, 1e-6, scale=vgn.row_vector(sc, Cc),
                         shift=vgn.row_vector(sh, Cc))
        torch.cuda.synchronize()
        xd = x.double().view(B, T, Cc)
        ref = torch.nn.functional.layer_norm(xd, (Cc,), eps=1e-6) * (1 + sc.double()[:, None]) + sh.double()[:, None]
        record(f"layernorm+modulate B{B} T{T} C{Cc} x {str(xdt)[6:]}", out, ref.view(rows, Cc))
    # Wan norm2: affine LayerNorm (fp32 params), no modulation; x read with a row stride.
    B, T, Cc = 2, 129, 1536
    xs = rnd(B * T, 2 * Cc)
    w, b = rnd(Cc, dtype=torch.float32) + 1, rnd(Cc, dtype=torch.float32)
    out = poison(B * T, Cc)
    vg.norm_modulate(vgn.NORM_LAYER, xs, out, B * T, T, Cc, 1e-6, weight=w, bias=b, x_stride=2 * Cc)
    torch.cuda.synchronize()
    ref = torch.nn.functional.layer_norm(xs[:, :Cc].double(), (Cc,), w.double(), b.double(), eps=1e-6)
    record("layernorm affine, strided x", out, ref)
    # RMSNorm with bf16 weight and per-token bf16 modulation (Wan 2.2-style per-token timestep).
    out = poison(B * T, Cc, dtype=torch.float32)
    x = rnd(B * T, Cc)
    w = rnd(Cc) + 1
    sc, sh = rnd(B, T, Cc, scale=0.2), rnd(B, T, Cc)
    vg.norm_modulate(vgn.NORM_RMS, x, out, B * T, T, Cc, 1e-5, weight=w, scale=vgn.row_vector(sc, T * Cc, Cc),
                     shift=vgn.row_vector(sh, T * Cc, Cc))
    torch.cuda.synchronize()
    xd = x.double()
    ref = xd * torch.rsqrt(xd.pow(2).mean(-1, keepdim=True) + 1e-5) * w.double()
    ref = ref * (1 + sc.double().view(B * T, Cc)) + sh.double().view(B * T, Cc)
    record("rmsnorm weight + per-token modulation -> fp32", out, ref, tol=1e-2)
    # any channel count and stride: the general kernel (Wan 2.1 I2V image embeddings 12 wide; awkward test widths)
    for Cc, xdt, kind in [(12, torch.float32, vgn.NORM_LAYER), (1532, torch.bfloat16, vgn.NORM_LAYER), (37, torch.bfloat16, vgn.NORM_RMS)]:
        B, T = 2, 21
        x = rnd(B * T, Cc + 3, dtype=xdt, scale=2.0)[:, :Cc]   # row stride Cc + 3: unaligned rows
        w, bb = rnd(Cc, dtype=torch.float32) + 1, rnd(Cc, dtype=torch.float32)
        sc, sh = rnd(B, Cc, dtype=torch.float32, scale=0.3), rnd(B, Cc, dtype=torch.float32)
        out = poison(B * T, Cc, dtype=torch.float32)
        vg.norm_modulate(kind, x, out, B * T, T, Cc, 1e-6, weight=w, bias=bb if kind == vgn.NORM_LAYER else None,
                         scale=vgn.row_vector(sc, Cc), shift=vgn.row_vector(sh, Cc), x_stride=Cc + 3)
        torch.cuda.synchronize()
        xd = x.double()
        if kind == vgn.NORM_LAYER:
            ref = torch.nn.functional.layer_norm(xd, (Cc,), w.double(), bb.double(), eps=1e-6)
        else:
            ref = xd * torch.rsqrt(xd.pow(2).mean(-1, keepdim=True) + 1e-6) * w.double()
        ref = (ref.view(B, T, Cc) * (1 + sc.double()[:, None]) + sh.double()[:, None]).view(B * T, Cc)
        record(f"{'layernorm' if kind == vgn.NORM_LAYER else 'rmsnorm'} general C{Cc} stride {Cc + 3} x {str(xdt)[6:]} (+modulation)", out, ref,
               tol=1e-5 if xdt == torch.float32 else 1e-2)
    # short rows, one warp each: per-head QK RMSNorm (FLUX, Qwen-Image: rows = tokens * heads, C = head_dim), an odd row
    # count (the last block partly empty), and a LayerNorm with modulation at C = 256 (the warp path's limit)
    for rows, Cc, kind in [(4608 * 24 + 5, 128, vgn.NORM_RMS), (1001, 64, vgn.NORM_RMS), (333, 256, vgn.NORM_LAYER)]:
        x = rnd(rows, Cc, scale=2.0) + 0.25
        w = rnd(Cc, dtype=torch.float32) + 1
        out = poison(rows, Cc)
        if kind == vgn.NORM_RMS:
            vg.norm_modulate(kind, x, out, rows, rows, Cc, 1e-6, weight=w)
            xd = x.double()
            ref = xd * torch.rsqrt(xd.pow(2).mean(-1, keepdim=True) + 1e-6) * w.double()
        else:
            sc, sh = rnd(1, Cc, dtype=torch.float32, scale=0.3), rnd(1, Cc, dtype=torch.float32)
            vg.norm_modulate(kind, x, out, rows, rows, Cc, 1e-6, weight=w, scale=vgn.row_vector(sc, Cc), shift=vgn.row_vector(sh, Cc))
            ref = torch.nn.functional.layer_norm(x.double(), (Cc,), w.double(), eps=1e-6) * (1 + sc.double()) + sh.double()
        torch.cuda.synchronize()
        record(f"{'rmsnorm' if kind == vgn.NORM_RMS else 'layernorm+modulate'} short rows: {rows} x C{Cc} (warp per row)", out, ref)
    # the same norms with FP8 E4M3 codes and one scale per row out (the input of a dynamic FP8 linear): the block path
    # (Wan's norm1 and affine norm2), the warp path, the general kernel (unaligned row stride, odd width)
    for name, rows, T, Cc, kind, xdt, stride, affine, mod in [
            ("layernorm+modulate (Wan norm1)", 600, 300, 1536, vgn.NORM_LAYER, torch.bfloat16, 0, False, True),
            ("layernorm affine (Wan norm2)", 258, 129, 1536, vgn.NORM_LAYER, torch.bfloat16, 0, True, False),
            ("rmsnorm, warp per row", 333, 333, 128, vgn.NORM_RMS, torch.float32, 0, True, False),
            ("layernorm+modulate general kernel", 42, 21, 1532, vgn.NORM_LAYER, torch.bfloat16, 1535, True, True)]:
        xs = rnd(rows, stride or Cc, dtype=xdt, scale=3.0) + 0.5
        x = xs[:, :Cc]
        w, bb = (rnd(Cc, dtype=torch.float32) + 1, rnd(Cc, dtype=torch.float32)) if affine else (None, None)
        B = rows // T
        sc, sh = (rnd(B, Cc, dtype=torch.float32, scale=0.3), rnd(B, Cc, dtype=torch.float32)) if mod else (None, None)
        if rows > 3:
            x[3] = 0.0 if kind == vgn.NORM_RMS else x[3]
        codes = torch.full((rows, Cc), 0x7f, device=dev, dtype=torch.uint8).view(torch.float8_e4m3fn)
        scales = torch.full((rows,), float("nan"), device=dev)
        vg.norm_modulate_fp8_rows(kind, xs if stride else x, codes, scales, rows, T, Cc, 1e-6, weight=w,
                                  bias=bb if kind == vgn.NORM_LAYER else None,
                                  scale=None if sc is None else vgn.row_vector(sc, Cc),
                                  shift=None if sh is None else vgn.row_vector(sh, Cc), x_stride=stride)
        torch.cuda.synchronize()
        xd = x.double()
        if kind == vgn.NORM_LAYER:
            y = torch.nn.functional.layer_norm(xd, (Cc,), None if w is None else w.double(), None if bb is None else bb.double(), eps=1e-6)
        else:
            y = xd * torch.rsqrt(xd.pow(2).mean(-1, keepdim=True) + 1e-6) * (1 if w is None else w.double())
        if mod:
            y = (y.view(B, T, Cc) * (1 + sc.double()[:, None]) + sh.double()[:, None]).view(rows, Cc)
        amax = y.abs().amax(-1)
        ref_scale = torch.where(amax > 0, amax / 448, torch.ones_like(amax))
        deq = codes.float().double() * scales.double()[:, None]
        # within e4m3's rounding (half a step: 2^-4 relative, or 2^-10 of the row's scale below the normal range)
        bound = (y.abs() * 2.0 ** -4 + ref_scale[:, None] * 2.0 ** -10) * 1.001 + 1e-6 * amax[:, None]
        ok_codes = bool(((deq - y).abs() <= bound).all().item())
        ok_scales = bool(((scales.double() - ref_scale).abs() <= 1e-5 * ref_scale).all().item())
        record_exact(f"norm -> fp8 per row: {name} {rows}x{Cc} x {str(xdt)[6:]} (codes within e4m3 rounding of fp64, scales)",
                     ok_codes and ok_scales, f"max |deq - y| / bound {((deq - y).abs() / bound).max().item():.3f}")
    # norm -> FP8 codes of one given factor (an FP8 cross-attention's q: RMSNorm with weight, the factor 448 / the bound
    # sqrt(C) · max|w| · (1 + 1/64)): codes within e4m3's rounding of the fp64 norm times the factor, none saturated
    for rows, T, Cc in [(600, 300, 1536), (70, 35, 1024)]:
        x = rnd(rows, Cc, scale=3.0) + 0.5
        w = rnd(Cc, dtype=torch.float32) + 1
        bound = math.sqrt(Cc) * w.abs().max().item() * (1 + 1 / 64)
        factor = torch.tensor([448.0 / bound], device=dev)
        codes = torch.full((rows, Cc), 0x7f, device=dev, dtype=torch.uint8).view(torch.float8_e4m3fn)
        vg.norm_modulate_fp8_scaled(vgn.NORM_RMS, x, codes, factor, rows, T, Cc, 1e-6, weight=w)
        torch.cuda.synchronize()
        xd = x.double()
        y = xd * torch.rsqrt(xd.pow(2).mean(-1, keepdim=True) + 1e-6) * w.double() * factor.double()
        deq = codes.float().double()
        tol = y.abs() * 2.0 ** -4 * 1.001 + 2.0 ** -10 + 1e-6
        ok = bool(((deq - y).abs() <= tol).all().item()) and bool((y.abs() < 448).all().item())
        record_exact(f"rmsnorm -> fp8 codes of a given factor {rows}x{Cc} (within e4m3 rounding of fp64, the bound unsaturated)",
                     ok, f"max |deq - y| / tol {((deq - y).abs() / tol).max().item():.3f}, max code {y.abs().max().item():.1f}")
    # a residual and the norm reading it in one pass: bit-identical to vg_gated_residual (or the sum) and then the norm,
    # for the sum and for the norm's output (bf16, and FP8 codes with row scales): Wan's three (gated self-attention
    # residual -> affine norm2, plain cross-attention residual -> norm3 + modulation -> FP8, gated FFN residual -> next
    # norm1), fp32 activations, the warp path
    for name, rows, T, Cc, kind, xdt, gated, affine, mod, fp8 in [
            ("gated -> layernorm affine (Wan norm2)", 600, 300, 1536, vgn.NORM_LAYER, torch.bfloat16, True, True, False, False),
            ("plain -> layernorm+modulate -> fp8 (Wan norm3)", 600, 300, 1536, vgn.NORM_LAYER, torch.bfloat16, False, False, True, True),
            ("gated -> layernorm+modulate -> fp8 (Wan norm1)", 258, 129, 1536, vgn.NORM_LAYER, torch.bfloat16, True, False, True, True),
            ("gated, fp32 -> rmsnorm", 300, 150, 3072, vgn.NORM_RMS, torch.float32, True, True, False, False),
            ("gated -> rmsnorm -> fp8, warp per row", 333, 333, 128, vgn.NORM_RMS, torch.bfloat16, True, True, False, True)]:
        B = rows // T
        x = rnd(rows, Cc, dtype=xdt, scale=3.0) + 0.5
        y = rnd(rows, Cc, dtype=xdt, scale=2.0)
        g = rnd(B, Cc, dtype=torch.float32, scale=0.5) if gated else None
        gate = vgn.row_vector(g, Cc) if gated else None
        w, bb = (rnd(Cc, dtype=torch.float32) + 1, rnd(Cc, dtype=torch.float32)) if affine else (None, None)
        bb = bb if kind == vgn.NORM_LAYER else None
        sc, sh = (rnd(B, Cc, dtype=torch.float32, scale=0.3), rnd(B, Cc, dtype=torch.float32)) if mod else (None, None)
        mod_args = dict(scale=None if sc is None else vgn.row_vector(sc, Cc), shift=None if sh is None else vgn.row_vector(sh, Cc))
        # separate: the residual, then the norm
        ref_sum = torch.empty_like(x)
        if gated:
            vg.gated_residual(x, y, gate, ref_sum, rows, T, Cc)
        else:
            ref_sum.copy_((x.float() + y.float()).to(xdt))
        if fp8:
            ref_out = torch.empty(rows, Cc, device=dev, dtype=torch.float8_e4m3fn)
            ref_scales = torch.empty(rows, device=dev)
            vg.norm_modulate_fp8_rows(kind, ref_sum, ref_out, ref_scales, rows, T, Cc, 1e-6, weight=w, bias=bb, **mod_args)
            out = torch.full((rows, Cc), 0x7f, device=dev, dtype=torch.uint8).view(torch.float8_e4m3fn)
            scales = torch.full((rows,), float("nan"), device=dev)
        else:
            ref_out = torch.empty(rows, Cc, device=dev, dtype=torch.bfloat16)
            vg.norm_modulate(kind, ref_sum, ref_out, rows, T, Cc, 1e-6, weight=w, bias=bb, **mod_args)
            out, scales = poison(rows, Cc), None
        s_out = poison(rows, Cc, dtype=xdt) if xdt == torch.bfloat16 else torch.full((rows, Cc), float("nan"), device=dev)
        vg.residual_norm(kind, x, y, gate, s_out, out, rows, T, Cc, 1e-6, row_scales=scales, weight=w, bias=bb, **mod_args)
        torch.cuda.synchronize()
        same = torch.equal(s_out, ref_sum) and torch.equal(out.view(torch.uint8) if fp8 else out, ref_out.view(torch.uint8) if fp8 else ref_out)
        if fp8:
            same = same and torch.equal(scales, ref_scales)
        record_exact(f"residual + norm in one pass: {name} {rows}x{Cc} x {str(xdt)[6:]} (bit-identical to the two kernels)", same,
                     f"sum max diff {(s_out.float() - ref_sum.float()).abs().max().item():.3g}")
    expect_error("residual + norm rejects an unaligned row width",
                 lambda: vg.residual_norm(vgn.NORM_LAYER, x[:, :12].contiguous(), y[:, :12].contiguous(), None,
                                          torch.empty(rows, 12, device=dev, dtype=xdt), torch.empty(rows, 12, device=dev, dtype=torch.bfloat16),
                                          rows, T, 12, 1e-6), 1)


def wan_rope_tables(T, H, W, D, theta=10000.0):
    """Wan's 3D RoPE cos/sin per token as [T*H*W, D/2] (pair frequencies), float64 math like diffusers."""
    h_dim = w_dim = 2 * (D // 6)
    t_dim = D - h_dim - w_dim
    cos_l, sin_l = [], []
    for dim, n, view in [(t_dim, T, (T, 1, 1, -1)), (h_dim, H, (1, H, 1, -1)), (w_dim, W, (1, 1, W, -1))]:
        freqs = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float64)[: dim // 2] / dim))
        ang = torch.outer(torch.arange(n, dtype=torch.float64), freqs)
        cos_l.append(ang.cos().view(*view).expand(T, H, W, -1))
        sin_l.append(ang.sin().view(*view).expand(T, H, W, -1))
    cos = torch.cat(cos_l, -1).reshape(T * H * W, D // 2)
    sin = torch.cat(sin_l, -1).reshape(T * H * W, D // 2)
    return cos.float().to(dev).contiguous(), sin.float().to(dev).contiguous()


def check_rope(vg):
    B, Hh, D = 2, 12, 128
    T, Hs, Ws = 3, 6, 10
    tokens = T * Hs * Ws
    Cc = Hh * D
    cos, sin = wan_rope_tables(T, Hs, Ws, D)
    qkv = rnd(B * tokens, 3 * Cc, scale=2.0)  # fused projection output; q is columns [0, C)
    w = rnd(Cc) + 1
    out = poison(B * tokens, Cc)
    vg.rmsnorm_rope(qkv, out, B * tokens, tokens, Hh, D, 1e-6, w, cos, sin, x_stride=3 * Cc)
    torch.cuda.synchronize()
    # Reference, following diffusers' WanAttnProcessor: RMSNorm across heads, then interleaved rotation.
    x = qkv[:, :Cc].double()
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w.double()
    y = y.view(B, tokens, Hh, D // 2, 2)
    c = cos.double().view(1, tokens, 1, D // 2)
    s = sin.double().view(1, tokens, 1, D // 2)
    x1, x2 = y[..., 0], y[..., 1]
    ref = torch.stack([x1 * c - x2 * s, x1 * s + x2 * c], -1).view(B * tokens, Cc)
    record("qk rmsnorm_across_heads + 3D rope (strided qkv)", out, ref)
    # RoPE only, in place, head_dim 64.
    D2, H2 = 64, 6
    cos2, sin2 = wan_rope_tables(T, Hs, Ws, D2)
    x = rnd(B * tokens, H2 * D2)
    x0 = x.clone()
    vg.rmsnorm_rope(x, x, B * tokens, tokens, H2, D2, 0.0, None, cos2, sin2, apply_norm=0)
    torch.cuda.synchronize()
    y = x0.double().view(B, tokens, H2, D2 // 2, 2)
    c = cos2.double().view(1, tokens, 1, D2 // 2)
    s = sin2.double().view(1, tokens, 1, D2 // 2)
    ref = torch.stack([y[..., 0] * c - y[..., 1] * s, y[..., 0] * s + y[..., 1] * c], -1).view(B * tokens, H2 * D2)
    record("rope only, in place, head_dim 64", x, ref)
    # the general path: head sizes that are not multiples of 8 (awkward checkpoints), unaligned strides
    for Hh3, D3, xs in ((3, 20, 3 * 60), (7, 10, 70 + 1)):
        C3 = Hh3 * D3
        cos3, sin3 = wan_rope_tables(T, Hs, Ws, D3)
        buf = rnd(B * tokens, xs, scale=2.0)
        w3 = rnd(C3) + 1
        out3 = poison(B * tokens, C3)
        vg.rmsnorm_rope(buf, out3, B * tokens, tokens, Hh3, D3, 1e-6, w3, cos3, sin3, x_stride=xs)
        torch.cuda.synchronize()
        x = buf[:, :C3].double()
        y = (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w3.double()).view(B, tokens, Hh3, D3 // 2, 2)
        c = cos3.double().view(1, tokens, 1, D3 // 2)
        s = sin3.double().view(1, tokens, 1, D3 // 2)
        ref = torch.stack([y[..., 0] * c - y[..., 1] * s, y[..., 0] * s + y[..., 1] * c], -1).view(B * tokens, C3)
        record(f"qk rmsnorm + rope, general path, {Hh3} heads x {D3}, x_stride {xs}", out3, ref)
    check_rope_rotate_half(vg)


def contiguous_strides(shape):
    st, acc = [], 1
    for n in reversed(shape):
        st.insert(0, acc)
        acc *= n
    return st


def check_rope_rotate_half(vg):
    """vg_rope_rotate_half against torch's x·cos + cat(−x2, x1)·sin in float64: Cosmos3's rotate_half RoPE over a head
    (tables [1, T, 1, D] broadcast over heads), LTX-2's split RoPE (the head viewed [2, D/2], one frequency per batch
    item, token, head and pair), an uneven split in float32, and a bad axis refused."""
    T, H, D = 173, 4, 128
    ang = torch.rand(1, T, 1, D // 2, device=dev, dtype=torch.float64) * 50
    cos = torch.cat([ang.cos(), ang.cos()], -1).float().contiguous()
    sin = torch.cat([ang.sin(), ang.sin()], -1).float().contiguous()
    x = rnd(1, T, H, D, scale=2.0)
    out = poison(1, T, H, D)
    bc = [0, D, 0, 1]  # [1, T, 1, D] read over [1, T, H, D]
    vg.rope_rotate_half([1, T, H, D], 3, D // 2, out, contiguous_strides([1, T, H, D]), x, contiguous_strides([1, T, H, D]), cos, bc, sin, bc)
    torch.cuda.synchronize()
    xd = x.double()
    ref = xd * cos.double() + torch.cat([-xd[..., D // 2:], xd[..., :D // 2]], -1) * sin.double()
    record("rope rotate_half (Cosmos3) bf16, tables broadcast over heads", out, ref)
    B, R = 2, 32
    ang2 = torch.rand(B, T, H, 1, R, device=dev, dtype=torch.float64) * 50
    cos2, sin2 = ang2.cos().float().contiguous(), ang2.sin().float().contiguous()
    x2 = rnd(B, T, H * 2 * R, scale=2.0)
    out2 = poison(B, T, H * 2 * R)
    shape = [B, T, H, 2, R]
    tab = [T * H * R, H * R, R, 0, 1]
    vg.rope_rotate_half(shape, 3, 1, out2, contiguous_strides(shape), x2, contiguous_strides(shape), cos2, tab, sin2, tab)
    torch.cuda.synchronize()
    xs = x2.double().view(shape)
    ref2 = (xs * cos2.double() + torch.cat([-xs[:, :, :, 1:], xs[:, :, :, :1]], 3) * sin2.double()).view(B, T, -1)
    record("rope split (LTX-2) bf16, per-head tables, axis of 2", out2, ref2)
    x3 = rnd(5, 7, 9, dtype=torch.float32)
    c3, s3 = rnd(7, 9, dtype=torch.float32), rnd(7, 9, dtype=torch.float32)
    out3 = poison(5, 7, 9, dtype=torch.float32)
    vg.rope_rotate_half([5, 7, 9], 2, 5, out3, [63, 9, 1], x3, [63, 9, 1], c3, [0, 9, 1], s3, [0, 9, 1])
    torch.cuda.synchronize()
    xd3 = x3.double()
    ref3 = xd3 * c3.double() + torch.cat([-xd3[..., 5:], xd3[..., :5]], -1) * s3.double()
    record("rope rotate_half fp32, uneven split [5, 4] (exact ONNX Split semantics)", out3, ref3, tol=1e-6)
    expect_error("rope rotate_half with the axis out of range",
                 lambda: vg.rope_rotate_half([5, 7, 9], 3, 1, out3, [63, 9, 1], x3, [63, 9, 1], c3, [0, 9, 1], s3, [0, 9, 1]), 1)


def check_elementwise(vg):
    B, T, Cc = 2, 211, 1536
    rows = B * T
    x, y = rnd(rows, Cc), rnd(rows, Cc)
    gate = rnd(B, Cc, dtype=torch.float32)
    ref = x.double() + y.double() * gate.double().repeat_interleave(T, 0)
    vg.gated_residual(x, y, vgn.row_vector(gate, Cc), x, rows, T, Cc)  # in place
    torch.cuda.synchronize()
    record("gated residual bf16 + fp32 gate, in place", x, ref)
    xf = rnd(rows, Cc, dtype=torch.float32)
    out = poison(rows, Cc, dtype=torch.float32)
    gate_b = rnd(Cc)
    vg.gated_residual(xf, y, vgn.row_vector(gate_b, 0), out, rows, T, Cc)
    torch.cuda.synchronize()
    record("gated residual fp32 x, shared bf16 gate", out, xf.double() + y.double() * gate_b.double(), tol=1e-5)

    # the denoising loop's linear combinations (guidance, scheduler updates): float64 accumulation, float32 store
    for n, k in ((1000003, 5), (17, 1), (1 << 20, 8)):
        srcs = [rnd(n, dtype=torch.float32) for _ in range(k)]
        coefs = [(-1.0) ** i * (0.37 + i) for i in range(k)]
        out = srcs[0] if k == 5 else poison(n, dtype=torch.float32)   # in place over the first source
        ref = sum(c * s.double() for c, s in zip(coefs, srcs))
        vg.combine(out, list(zip(coefs, srcs)))
        torch.cuda.synchronize()
        record(f"combine {k} terms n={n}" + (", in place" if k == 5 else ""), out, ref, tol=1e-6)
    expect_error("combine with 9 terms", lambda: vg.combine(poison(8, dtype=torch.float32),
                 [(1.0, rnd(8, dtype=torch.float32))] * 9), 1)

    # true CFG's norm rescale: each row of src takes the norm of the same row of ref (float64 sums, float32 ratio)
    for rows_, length, alias in ((4096, 64, "src"), (7, 3072, None), (3, 100003, "ref"), (70001, 1, None), (5, 33, None)):
        src, ref_rows = rnd(rows_, length, dtype=torch.float32), rnd(rows_, length, dtype=torch.float32, scale=3.0)
        # a row of norm 0 has no ratio (NaN here as in torch); torch.randn does return exact zeros now and then (stop 27:
        # one in 70001 one-element rows), so they are moved off zero
        zeros = int((src == 0).sum().item())
        if zeros:
            print(f"INFO rescale row norms {rows_}x{length}: {zeros} exact zero(s) of torch.randn moved to 1")
        src = torch.where(src == 0, torch.ones_like(src), src)
        want = src.double() * (ref_rows.double().norm(dim=-1, keepdim=True) / src.double().norm(dim=-1, keepdim=True))
        out = {"src": src, "ref": ref_rows}.get(alias) if alias else poison(rows_, length, dtype=torch.float32)
        vg.rescale_row_norms(out, src, ref_rows, length)
        torch.cuda.synchronize()
        record(f"rescale row norms {rows_}x{length}" + (f", in place over {alias}" if alias else ""), out, want, tol=1e-6)
    expect_error("rescale row norms with row length 0", lambda: vg.call(
        "vg_rescale_row_norms", vgn.ptr(poison(4, dtype=torch.float32)), vgn.ptr(rnd(4, dtype=torch.float32)),
        vgn.ptr(rnd(4, dtype=torch.float32)), 4, 0, None), 1)

    # Cache-DiT's relative L1 between residuals: sum |a - b| and sum |b| in float64
    for n in (2 * 32760 * 1536, 1000003, 5):
        a, b = rnd(n, dtype=torch.float32), rnd(n, dtype=torch.float32, scale=2.0)
        d, r = vg.l1_distance(a, b)
        want_d, want_r = (a.double() - b.double()).abs().sum().item(), b.double().abs().sum().item()
        record(f"l1 distance n={n}", torch.tensor([d, r]), torch.tensor([want_d, want_r]), tol=1e-9)
    expect_error("l1 distance of 0 elements", lambda: vg.call(
        "vg_l1_distance", vgn.ptr(rnd(4, dtype=torch.float32)), vgn.ptr(rnd(4, dtype=torch.float32)), 0,
        vgn.ptr(torch.empty(2, dtype=torch.float64, device="cuda")), None), 1)

    for op, name, f in [(vgn.GELU_TANH, "gelu_tanh", gelu_tanh),
                        (vgn.GELU_ERF, "gelu_erf", lambda t: torch.nn.functional.gelu(t)),
                        (vgn.SILU, "silu", lambda t: t * torch.sigmoid(t))]:
        for n in (1 << 20, 1000003):
            x = rnd(n, scale=2.0)
            out = poison(n)
            vg.unary(op, x, out)
            torch.cuda.synchronize()
            record(f"{name} bf16 n={n}", out, f(x.double()))
    x = rnd(4097, dtype=torch.float32)
    out = poison(4097)
    vg.unary(vgn.IDENTITY, x, out)
    torch.cuda.synchronize()
    record("cast fp32->bf16", out, x.double())
    xb = rnd(4096)
    outf = poison(4096, dtype=torch.float32)
    vg.unary(vgn.IDENTITY, xb, outf)
    torch.cuda.synchronize()
    record("cast bf16->fp32 (exact)", outf, xb.double(), tol=0.0)

    a = rnd(rows, Cc)
    bvec = rnd(Cc, dtype=torch.float32)
    out = poison(rows, Cc)
    vg.binary(vgn.ADD, a, bvec, 0, out, rows, Cc)
    torch.cuda.synchronize()
    record("add, last-dim broadcast fp32 vector", out, a.double() + bvec.double())
    bfull = rnd(rows, Cc)
    out = poison(rows, Cc)
    vg.binary(vgn.MUL, a, bfull, Cc, out, rows, Cc)
    torch.cuda.synchronize()
    record("mul, full tensor", out, a.double() * bfull.double())
    a3, b3 = rnd(7, 13), rnd(13)
    out = poison(7, 13)
    vg.binary(vgn.SUB, a3, b3, 0, out, 7, 13)
    torch.cuda.synchronize()
    record("sub, odd sizes (scalar path)", out, a3.double() - b3.double())
    # layout copies: a last-dim concat [rows, wa] + [rows, wb] -> [rows, wa + wb] as two strided copies; 16-byte vector
    # path when widths are multiples of a vector, element path otherwise; copies are exact
    for dt, wa, wb, path in ((torch.bfloat16, 3072, 12288, "vector"), (torch.float32, 24, 40, "vector"),
                             (torch.bfloat16, 12, 28, "element"), (torch.bfloat16, 3072, 12288, "element, odd offset")):
        n_rows = 333
        a4, b4 = rnd(n_rows, wa, dtype=dt), rnd(n_rows, wb, dtype=dt)
        w = wa + wb
        out = poison(n_rows, w + (1 if path.endswith("offset") else 0), dtype=dt)
        at = 1 if path.endswith("offset") else 0
        vg.nd_copy([n_rows, wa], out, at, [out.shape[1], 1], a4, 0, [wa, 1])
        vg.nd_copy([n_rows, wb], out, at + wa, [out.shape[1], 1], b4, 0, [wb, 1])
        torch.cuda.synchronize()
        ref = torch.cat([a4, b4], dim=1).double()
        record(f"concat as strided copies, {str(dt)[6:]} {wa}+{wb} ({path} path)", out[:, at:at + w], ref, tol=0.0)


def check_encoders(vg):
    """Convolutions (cuDNN, fp32 with TF32 as PyTorch's default), batched products, masked softmax, embedding gather,
    Wan's channel L2 norm and the int64 cast: the kernels text encoders and VAEs run on."""
    import torch.nn.functional as F
    for name, x, w, stride, pad in (
            ("conv3d 3x3x3 pad (0,1,1)", rnd(1, 16, 6, 20, 24, dtype=torch.float32), rnd(32, 16, 3, 3, 3, dtype=torch.float32, scale=0.1), (1, 1, 1), (0, 1, 1)),
            ("conv3d 1x1x1", rnd(2, 24, 3, 5, 7, dtype=torch.float32), rnd(40, 24, 1, 1, 1, dtype=torch.float32, scale=0.2), (1, 1, 1), (0, 0, 0)),
            ("conv3d time 3x1x1 stride (2,1,1)", rnd(1, 8, 5, 6, 10, dtype=torch.float32), rnd(8, 8, 3, 1, 1, dtype=torch.float32, scale=0.3), (2, 1, 1), (0, 0, 0)),
            ("conv2d 3x3 stride 2 pad 1", rnd(2, 12, 33, 17, dtype=torch.float32), rnd(20, 12, 3, 3, dtype=torch.float32, scale=0.1), (2, 2), (1, 1))):
        bias = rnd(w.shape[0], dtype=torch.float32)
        conv = F.conv3d if x.dim() == 5 else F.conv2d
        ref = conv(x.double(), w.double(), bias.double(), stride=stride, padding=pad)
        out = poison(*ref.shape, dtype=torch.float32)
        _, osz = vg.conv(x, w, bias, out, stride, pad, (1,) * len(stride))
        ok_shape = list(osz) == list(ref.shape[2:])
        record(f"{name} fp32 (TF32){'' if ok_shape else ' WRONG SHAPE'}", out if ok_shape else out * float("nan"), ref, tol=3e-3)
    # batched q·kᵀ over heads ([S, H, D] rows: lda = H*D, batch stride D), then p·v, fp32 and bf16 inputs
    S, T, H, D = 37, 29, 3, 40
    for dt, tol in ((torch.float32, 1e-5), (torch.bfloat16, 1e-2)):
        q, k, v = rnd(S, H, D, dtype=dt), rnd(T, H, D, dtype=dt), rnd(T, H, D, dtype=dt)
        scores = poison(H, S, T, dtype=torch.float32)
        vg.bgemm(q, k, scores, H, S, T, D, True, H * D, H * D, T, D, D, S * T, alpha=0.5)
        ref = torch.einsum("shd,thd->hst", q.double(), k.double()) * 0.5
        record(f"bgemm q·kT {str(dt)[6:]} batch over heads", scores, ref, tol=tol)
        p = rnd(H, S, T, dtype=dt)
        o = poison(S, H, D, dtype=dt)
        vg.bgemm(p, v, o, H, S, D, T, False, T, H * D, H * D, S * T, D, D)
        record(f"bgemm p·v {str(dt)[6:]} into [S, H, D]", o, torch.einsum("hst,thd->shd", p.double(), v.double()), tol=tol)
    # softmax with a [B, 1, 1, N] padding mask plus a [1, H, S, N] bias; one row fully masked gives zeros
    B, H, S, N = 2, 3, 5, 33
    x = rnd(B, H, S, N, dtype=torch.float32)
    pad = torch.zeros(B, 1, 1, N, device=dev)
    pad[1, :, :, 20:] = torch.finfo(torch.float32).min
    bias = rnd(1, H, S, N, dtype=torch.float32)
    mask = (bias + pad).contiguous()  # [B, H, S, N]
    out = poison(B, H, S, N, dtype=torch.float32)
    vg.softmax_rows(x, out, (B, H, S), N, scale=0.7, bias=mask, bias_strides=(H * S * N, S * N, N, 1))
    record("softmax rows with mask + bias", out, torch.softmax(x.double() * 0.7 + mask.double(), -1), tol=1e-5)
    out = poison(B, H, S, N, dtype=torch.bfloat16)
    vg.softmax_rows(x, out, (B, H, S), N, scale=1.0, bias=pad, bias_strides=(N, 0, 0, 1))
    record("softmax rows, broadcast padding mask, bf16 out", out, torch.softmax(x.double() + pad.double(), -1), tol=1e-2)
    inf = torch.full((1, 1, 1, 8), float("-inf"), device=dev)
    out = poison(1, 1, 1, 8, dtype=torch.float32)
    vg.softmax_rows(rnd(1, 1, 1, 8, dtype=torch.float32), out, (1, 1, 1), 8, bias=inf, bias_strides=(0, 0, 0, 1))
    ok = bool((out == 0).all().item())
    results.append(("softmax of a fully masked row is zeros", 0.0, 0, ok))
    print(f"{'PASS' if ok else 'FAIL'} softmax of a fully masked row is zeros")
    # embedding rows by int64 ids on the device
    table = rnd(1000, 72, dtype=torch.bfloat16)
    ids = torch.randint(0, 1000, (3, 17), device=dev, dtype=torch.int64)
    out = poison(3, 17, 72, dtype=torch.float32)
    vg.gather_rows(table, ids, out)
    same = bool((out == table[ids].float()).all().item())
    results.append(("gather rows (bf16 table, int64 ids) exact", 0.0 if same else 1.0, 0, same))
    print(f"{'PASS' if same else 'FAIL'} gather rows (bf16 table, int64 ids) exact")
    # Wan's VAE norm: F.normalize over channels times a per-channel weight
    x = rnd(2, 96, 3, 5, 7, dtype=torch.float32)
    w = rnd(96, dtype=torch.float32)
    out = poison(*x.shape, dtype=torch.float32)
    vg.channel_l2norm(x, out, 1e-12, w)
    record("channel L2 norm fp32", out, F.normalize(x.double(), dim=1) * w.double().view(1, -1, 1, 1, 1), tol=1e-5)
    # the int64 → float cast (attention masks) through vg_nd
    m = torch.randint(0, 2, (4, 9), device=dev, dtype=torch.int64)
    o = poison(4, 9, dtype=torch.float32)
    arr = vgn.C.c_int64 * 8
    vg.call("vg_nd", 0, 2, (vgn.C.c_int64 * 2)(4, 9), vgn.C.byref(vgn.NdTensor(o.data_ptr(), vgn.FP32, arr(9, 1))),
            vgn.C.byref(vgn.NdTensor(m.data_ptr(), vgn.INT64, arr(9, 1))), None, None)
    same = bool((o == m.float()).all().item())
    results.append(("vg_nd int64 -> fp32 cast exact", 0.0 if same else 1.0, 0, same))
    print(f"{'PASS' if same else 'FAIL'} vg_nd int64 -> fp32 cast exact")
    # Equal through vg_nd (CLIP's ids == eos_token_id): int64 a against a broadcast fp32 scalar, 1.0/0.0 out
    ids = torch.randint(0, 50000, (3, 77), device=dev, dtype=torch.int64)
    ids[:, 40] = 49407
    eos = torch.tensor([49407.0], device=dev)
    o = poison(3, 77, dtype=torch.float32)
    vg.call("vg_nd", 8, 2, (vgn.C.c_int64 * 2)(3, 77), vgn.C.byref(vgn.NdTensor(o.data_ptr(), vgn.FP32, arr(77, 1))),
            vgn.C.byref(vgn.NdTensor(ids.data_ptr(), vgn.INT64, arr(77, 1))),
            vgn.C.byref(vgn.NdTensor(eos.data_ptr(), vgn.FP32, arr(0, 0))), None)
    same = bool((o == (ids == 49407).float()).all().item())
    results.append(("vg_nd equal (int64 ids == fp32 scalar) exact", 0.0 if same else 1.0, 0, same))
    print(f"{'PASS' if same else 'FAIL'} vg_nd equal (int64 ids == fp32 scalar) exact")
    check_group_norm(vg)
    check_argmax(vg)
    check_transformer_paths(vg)


def check_transformer_paths(vg):
    """The generic-kernel paths the FLUX.2 / LTX-2 / Cosmos3 transformers plan onto: a constant Pad with a nonzero value
    (one element broadcast with all-zero strides, then the input copied inside: LTX-2 pads its RoPE cos table with 1),
    SwiGLU's silu(a)·b (VG_ND_SILU_MUL), and sin/cos of LTX-2's on-device RoPE angles (up to theta·π/2 ≈ 1.6e4 rad in
    float32)."""
    arr = vgn.C.c_int64 * 8
    for dt in (torch.float32, torch.bfloat16):
        x = rnd(2, 5, 7, dtype=dt)
        one = torch.ones(1, device=dev, dtype=torch.float32)
        out = poison(2, 5, 10, dtype=dt)  # pads (0, 0, 3) before and (0, 0, 0) after
        sizes = (vgn.C.c_int64 * 3)(2, 5, 10)
        vg.call("vg_nd", 0, 3, sizes, vgn.C.byref(vgn.NdTensor(out.data_ptr(), vgn.dtype_of(out), arr(50, 10, 1))),
                vgn.C.byref(vgn.NdTensor(one.data_ptr(), vgn.FP32, arr(0, 0, 0))), None, None)
        vg.nd_copy([2, 5, 7], out, 3, [50, 10, 1], x, 0, [35, 7, 1])
        torch.cuda.synchronize()
        ref = torch.nn.functional.pad(x.float(), (3, 0), value=1.0)
        same = bool((out.float() == ref).all().item())
        results.append((f"pad with value 1 ({str(dt)[6:]}): broadcast fill + copy, exact", 0.0 if same else 1.0, 0, same))
        print(f"{'PASS' if same else 'FAIL'} pad with value 1 ({str(dt)[6:]}): broadcast fill + copy, exact")
    # SwiGLU as one vg_nd pass (VG_ND_SILU_MUL = 9): silu(x[:, :h]) · x[:, h:] read as two strided views of x (FLUX.2's
    # Flux2SwiGLU), bf16 and an odd width; then a gate against a broadcast fp32 row (the general binary path)
    for rows, h, dt in ((333, 3072, torch.bfloat16), (17, 45, torch.float32)):
        x = rnd(rows, 2 * h, dtype=dt, scale=3.0)
        out = poison(rows, h, dtype=dt)
        vg.call("vg_nd", 9, 2, (vgn.C.c_int64 * 2)(rows, h), vgn.C.byref(vgn.NdTensor(out.data_ptr(), vgn.dtype_of(out), arr(h, 1))),
                vgn.C.byref(vgn.NdTensor(x.data_ptr(), vgn.dtype_of(x), arr(2 * h, 1))),
                vgn.C.byref(vgn.NdTensor(x.data_ptr() + h * x.element_size(), vgn.dtype_of(x), arr(2 * h, 1))), None)
        torch.cuda.synchronize()
        xd = x.double()
        record(f"silu·mul (SwiGLU halves in place) {str(dt)[6:]} [{rows}, 2x{h}]", out, torch.nn.functional.silu(xd[:, :h]) * xd[:, h:],
               tol=1e-2 if dt == torch.bfloat16 else 1e-5)
    a, b = rnd(64, 96, scale=3.0), rnd(96, dtype=torch.float32)
    out = poison(64, 96)
    vg.call("vg_nd", 9, 2, (vgn.C.c_int64 * 2)(64, 96), vgn.C.byref(vgn.NdTensor(out.data_ptr(), vgn.BF16, arr(96, 1))),
            vgn.C.byref(vgn.NdTensor(a.data_ptr(), vgn.BF16, arr(96, 1))), vgn.C.byref(vgn.NdTensor(b.data_ptr(), vgn.FP32, arr(0, 1))), None)
    torch.cuda.synchronize()
    record("silu·mul, b broadcast over rows", out, torch.nn.functional.silu(a.double()) * b.double())
    angles = (torch.rand(1 << 16, device=dev, dtype=torch.float32) * 2 - 1) * 15708.0
    for op, name, f in ((16, "sin", torch.sin), (17, "cos", torch.cos)):
        out = poison(1 << 16, dtype=torch.float32)
        vg.call("vg_nd", op, 1, (vgn.C.c_int64 * 1)(1 << 16), vgn.C.byref(vgn.NdTensor(out.data_ptr(), vgn.FP32, arr(1))),
                vgn.C.byref(vgn.NdTensor(angles.data_ptr(), vgn.FP32, arr(1))), None, None)
        torch.cuda.synchronize()
        record(f"vg_nd {name} of float32 angles up to 1.6e4 rad (LTX-2 RoPE)", out, f(angles.double()), tol=1e-6)


def check_group_norm(vg):
    """AutoencoderKL's GroupNorm (+ the SiLU after it) against F.group_norm in float64."""
    import torch.nn.functional as F
    cases = (  # shape, groups, x dtype, out dtype, silu, affine, tol
        ((2, 64, 9, 13), 8, torch.float32, torch.float32, False, True, 1e-5),
        ((1, 128, 33, 17), 32, torch.float32, torch.float32, True, True, 1e-5),
        ((1, 32, 128, 128), 32, torch.float32, torch.float32, True, True, 1e-5),  # 16384 values per group
        ((1, 16, 256, 256), 4, torch.float32, torch.float32, False, True, 1e-5),  # 262144 values per group
        ((2, 48, 5, 7), 6, torch.bfloat16, torch.bfloat16, True, True, 1e-2),
        ((2, 48, 5, 7), 6, torch.float32, torch.bfloat16, False, False, 1e-2),
        ((1, 20, 3, 4, 5), 5, torch.bfloat16, torch.float32, True, True, 1e-2),  # 3 spatial dims, 4 channels per group
        ((3, 8, 1), 8, torch.float32, torch.float32, False, True, 1e-5),  # one value per group: x - mean = 0
        ((1, 128, 512, 512), 32, torch.bfloat16, torch.bfloat16, True, True, 1e-2),  # 1M values per group: 64 slices
        ((1, 64, 300, 301), 32, torch.float32, torch.float32, True, True, 1e-5),  # slices, rows not 8-aligned (scalar)
    )
    for shape, groups, xdt, odt, silu, affine, tol in cases:
        x = (rnd(*shape, dtype=torch.float32) * 3.0 + 1.5).to(xdt)  # an offset mean, as activations have
        w = rnd(shape[1], dtype=torch.float32) if affine else None
        b = rnd(shape[1], dtype=torch.float32) if affine else None
        out = poison(*shape, dtype=odt)
        vg.group_norm(x, out, groups, 1e-6, w, b, silu)
        ref = F.group_norm(x.double(), groups, None if w is None else w.double(), None if b is None else b.double(), eps=1e-6)
        if silu:
            ref = F.silu(ref)
        torch.cuda.synchronize()
        record(f"group norm {list(shape)} / {groups} groups {str(xdt)[6:]}->{str(odt)[6:]}"
               f"{' + silu' if silu else ''}{'' if affine else ' (no affine)'}", out, ref, tol=tol)
    # in place (out aliases x), as the engine may run it
    x = rnd(2, 32, 16, 16, dtype=torch.float32) + 0.5
    w, b = rnd(32, dtype=torch.float32), rnd(32, dtype=torch.float32)
    ref = F.silu(F.group_norm(x.double(), 8, w.double(), b.double(), eps=1e-5))
    vg.group_norm(x, x, 8, 1e-5, w, b, True)
    torch.cuda.synchronize()
    record("group norm in place fp32 + silu", x, ref, tol=1e-5)
    expect_error("group norm: channels not divisible by groups",
                 lambda: vg.group_norm(rnd(1, 30, 4, 4, dtype=torch.float32), poison(1, 30, 4, 4, dtype=torch.float32), 8, 1e-6),
                 1)


def check_argmax(vg):
    """ArgMax (CLIP's EOS position): int64 token ids along the sequence, first index among equals (as torch.argmax),
    the last with select_last; float inputs along a middle axis."""
    ids = torch.randint(0, 49408, (4, 77), device=dev, dtype=torch.int64)
    ids[0, 5] = ids[0, 60] = 49407  # a tie: the first index wins
    ids[1, :] = 7                    # all equal: index 0 (select_last: 76)
    out = torch.full((4,), -1, device=dev, dtype=torch.int64)
    vg.argmax(ids, 1, out)
    torch.cuda.synchronize()
    same = bool((out == torch.argmax(ids, dim=1)).all().item()) and int(out[0]) == 5 and int(out[1]) == 0
    results.append(("argmax int64 ids, first among ties", 0.0 if same else 1.0, 0, same))
    print(f"{'PASS' if same else 'FAIL'} argmax int64 ids, first among ties")
    out = torch.full((4,), -1, device=dev, dtype=torch.int64)
    vg.argmax(ids, 1, out, select_last=True)
    torch.cuda.synchronize()
    ref_last = 76 - torch.argmax(ids.flip(1), dim=1)
    same = bool((out == ref_last).all().item()) and int(out[0]) == 60 and int(out[1]) == 76
    results.append(("argmax int64 ids, select_last_index", 0.0 if same else 1.0, 0, same))
    print(f"{'PASS' if same else 'FAIL'} argmax int64 ids, select_last_index")
    for dt in (torch.float32, torch.bfloat16):
        x = rnd(5, 300, 7, dtype=dt)
        out = torch.full((5, 7), -1, device=dev, dtype=torch.int64)
        vg.argmax(x, 1, out)
        torch.cuda.synchronize()
        same = bool((out == torch.argmax(x.float(), dim=1)).all().item()) if dt == torch.float32 else \
            bool((x.float().gather(1, out.unsqueeze(1)).squeeze(1) == x.float().amax(1)).all().item())
        results.append((f"argmax {str(dt)[6:]} [5, 300, 7] along the middle axis", 0.0 if same else 1.0, 0, same))
        print(f"{'PASS' if same else 'FAIL'} argmax {str(dt)[6:]} [5, 300, 7] along the middle axis")
    # 0/1 floats (Equal's output) with no match: index 0, as ONNX and torch give
    z = torch.zeros(2, 77, device=dev)
    out = torch.full((2,), -1, device=dev, dtype=torch.int64)
    vg.argmax(z, 1, out)
    torch.cuda.synchronize()
    same = bool((out == 0).all().item())
    results.append(("argmax of all-zero rows is 0", 0.0 if same else 1.0, 0, same))
    print(f"{'PASS' if same else 'FAIL'} argmax of all-zero rows is 0")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", required=True)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--only", default="gemm,attention,fp8,sage,quant,fp8gelu,norms,rope,elementwise,encoders")
    ap.add_argument("--fixtures", default=None, help="shared/conformance/quant_ops (else looked for beside the checkout)")
    args = ap.parse_args()
    global FIXTURES
    FIXTURES = args.fixtures
    seed = args.seed if args.seed is not None else int(time.time_ns() % (1 << 31))
    torch.manual_seed(seed)
    print(f"seed {seed}; device {torch.cuda.get_device_name()}")
    vg = vgn.Native(args.lib)
    print("versions:", vg.versions())
    for check in (check_gemm, check_attention, check_fp8, check_sage, check_quant, check_fp8gelu, check_norms, check_rope, check_elementwise, check_encoders):
        if check.__name__[len("check_"):] not in args.only.split(","):
            continue
        try:
            check(vg)
        except Exception as e:  # a crash in one group is a failure, reported, not hidden
            results.append((check.__name__, float("nan"), 0, False))
            print(f"FAIL {check.__name__} raised {type(e).__name__}: {e}")
        torch.cuda.synchronize()  # surfaces asynchronous CUDA errors here
    vg.close()
    failed = [r for r in results if not r[3]]
    print(f"\ncorrectness: {len(results) - len(failed)}/{len(results)} passed" +
          ("" if not failed else "; FAILED: " + ", ".join(r[0] for r in failed)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
