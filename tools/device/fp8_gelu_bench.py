"""The FFN up projection of Wan 2.1 1.3B under CFG (65520 tokens x 8960 x 1536) two ways, in one process: cuBLASLt's
per-row FP8 GEMM writing bf16 with its bias, then vg_quantize_fp8_rows_gelu (the engine's path until stop 48), against
vg_fp8_gelu_row_scales + vg_fp8_gemm_gelu_rows (CUTLASS, the epilogue writing the down projection's codes). Times are
medians of CUDA-event timed launches, rounds alternating the two; then the down projection's output from each path's
codes against the float32 FFN on the same operands. VG_FP8_GELU_TILE picks the CUTLASS configuration (run.sh runs each).

  VISUALGEN_NATIVE_LIB=native/build/libvisualgen_native.so python3 tools/device/fp8_gelu_bench.py [--rounds 3]
"""
import argparse
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "native", "python"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
import visualgen_native as vgn  # noqa: E402
from peer_common import bench  # noqa: E402

dev = "cuda"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--m", type=int, default=65520)
    ap.add_argument("--n", type=int, default=8960)
    ap.add_argument("--k", type=int, default=1536)
    ap.add_argument("--no-accuracy", action="store_true", help="times only")
    args = ap.parse_args()
    m, n, k = args.m, args.n, args.k
    vg = vgn.Native(os.environ["VISUALGEN_NATIVE_LIB"])
    torch.manual_seed(0)
    # LayerNorm-like rows (the norm's output), a weight of nn.Linear's init scale, a small bias
    a = torch.randn(m, k, device=dev).to(torch.bfloat16)
    w = (torch.randn(n, k, device=dev) / math.sqrt(k)).to(torch.bfloat16)
    bias = (0.02 * torch.randn(n, device=dev)).to(torch.bfloat16)
    w_scale = torch.clamp(w.float().abs().amax() / 448, min=1 / (448 * 512)).to(torch.bfloat16).float().reshape(1)
    wq = (w.float() / w_scale).clamp(-448, 448).to(torch.float8_e4m3fn)
    w_scale_rows = w_scale.expand(n).contiguous()  # cuBLASLt's per-row GEMM takes the per-tensor scale repeated
    aq = torch.empty(m, k, device=dev, dtype=torch.float8_e4m3fn)
    a_scale = torch.empty(m, device=dev)
    vg.quantize_fp8_rows(a, aq, a_scale)
    ws = torch.empty(64 << 20, device=dev, dtype=torch.uint8)

    plan = vg.fp8_gemm_plan(m, n, k, vgn.FP8_SCALING_ROWS, vgn.EPI_BIAS, fast_accumulation=True)
    mid = torch.empty(m, n, device=dev, dtype=torch.bfloat16)
    q2, s2 = torch.empty(m, n, device=dev, dtype=torch.float8_e4m3fn), torch.empty(m, device=dev)
    norms = torch.empty(n, device=dev)
    vg.fp8_weight_row_norms(wq, norms)
    q1 = torch.empty(m, n, device=dev, dtype=torch.float8_e4m3fn)
    s1, rs, inv = (torch.empty(m, device=dev) for _ in range(3))
    need = vg.fp8_gemm_gelu_rows_workspace(m, n, k)
    assert need <= ws.numel(), need

    def two_pass():
        vg.fp8_gemm_run(plan, aq, a_scale, wq, w_scale_rows, bias, mid, ws)
        vg.quantize_fp8_rows_gelu(mid, q2, s2)

    def gemm_only():
        vg.fp8_gemm_run(plan, aq, a_scale, wq, w_scale_rows, bias, mid, ws)

    def fused():
        vg.fp8_gelu_row_scales(a_scale, k, norms, w_scale, bias, s1, rs, inv)
        vg.fp8_gemm_gelu_rows(aq, wq, bias, rs, inv, q1, ws)

    def fused_gemm():
        vg.fp8_gemm_gelu_rows(aq, wq, bias, rs, inv, q1, ws)

    flop = 2.0 * m * n * k
    rows = {"two-pass (cuBLASLt bf16 + GELU/quantize pass)": [], "  cuBLASLt GEMM alone": [],
            "fused (CUTLASS epilogue, + bound scales)": [], "  CUTLASS GEMM alone": []}
    for _ in range(args.rounds):
        for (name, fn) in zip(rows, (two_pass, gemm_only, fused, fused_gemm)):
            rows[name].append(bench(fn, warm=1, rep=args.reps))
    print(f"FFN up {m} x {n} x {k}, CUTLASS configuration {os.environ.get('VG_FP8_GELU_TILE', 'default')}, workspace {need} bytes")
    for name, t in rows.items():
        print(f"  {name:48s} " + " / ".join(f"{x:.3f}" for x in t) + f" ms   ({flop / (min(t) * 1e-3) / 1e12:.0f} TFLOP/s by the GEMM's flops)")

    tile = os.environ.get("VG_FP8_GELU_TILE", "default") + "/" + os.environ.get("VG_FP8_GELU_RASTER", "0") + "/" + os.environ.get("VG_FP8_GELU_SWIZZLE", "1")
    if args.no_accuracy:
        print(f"TABLE fp8gelu tile/raster/swizzle {tile}: two-pass {min(rows['two-pass (cuBLASLt bf16 + GELU/quantize pass)']):.3f} ms, "
              f"fused {min(rows['fused (CUTLASS epilogue, + bound scales)']):.3f} ms, CUTLASS GEMM alone {min(rows['  CUTLASS GEMM alone']):.3f}")
        return
    # accuracy: the down projection (w2 [k, n]) from each path's codes vs the float32 FFN, on 8192 rows
    r = slice(0, 8192)
    fused()
    two_pass()
    torch.cuda.synchronize()
    z = (aq[r].float() * a_scale[r, None]) @ (wq.float() * w_scale).t() + bias.float()
    g = torch.nn.functional.gelu(z, approximate="tanh")
    w2 = (torch.randn(k, n, device=dev) / math.sqrt(n))
    exact = g @ w2.t()
    e1 = ((q1[r].float() * s1[r, None]) @ w2.t() - exact).norm() / exact.norm()
    e2 = ((q2[r].float() * s2[r, None]) @ w2.t() - exact).norm() / exact.norm()
    ratio = (s1[r] * 448 / g.abs().amax(1)).median().item()
    cos1 = torch.nn.functional.cosine_similarity(((q1[r].float() * s1[r, None]) @ w2.t()).flatten(), exact.flatten(), dim=0).item()
    print(f"  down projection from the codes vs fp32 FFN (8192 rows): fused rel. L2 {e1:.3e} (cos {cos1:.6f}), two-pass {e2:.3e}; "
          f"bound / row max median {ratio:.1f}")
    ok = bool(torch.isfinite(q1.float()).all().item())
    print(f"TABLE fp8gelu tile/raster/swizzle {tile}: two-pass {min(rows['two-pass (cuBLASLt bf16 + GELU/quantize pass)']):.3f} ms, fused "
          f"{min(rows['fused (CUTLASS epilogue, + bound scales)']):.3f} ms; down proj. rel. L2 fused {e1:.2e} / two-pass {e2:.2e}"
          f"{'' if ok else ' NON-FINITE CODES'}")


if __name__ == "__main__":
    main()
