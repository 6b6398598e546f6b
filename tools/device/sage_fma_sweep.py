"""EXPERIMENT (stop 34, temporary): the Sage wgmma kernel (192-key blocks) with a share of its exponentials on the FMA
pipe (VG_SAGE_WGMMA_FMA_EXP = a mask over the 8-key tile index % 8), main kernel alone, rounds alternating the masks.
Cosine against bf16 cuDNN attention on the same inputs."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "native", "python"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
import visualgen_native as vgn  # noqa: E402
from peer_common import bench  # noqa: E402

vg = vgn.Native(sys.argv[1] if len(sys.argv) > 1 else "native/build/libvisualgen_native.so")
masks = os.environ.get("MASKS", "0 0x55 0x77 0x255 0x455 0x655 0x6FF").split()
rounds = int(os.environ.get("ROUNDS", "2"))


def cos(a, b):
    a, b = a.double().flatten(), b.double().flatten()
    return (a @ b / (a.norm() * b.norm())).item()


results = {}
for name, B, S, H, D, qs in [("wan self", 2, 32760, 12, 128, 1.0), ("wan self, peaked (q x4)", 2, 32760, 12, 128, 4.0),
                             ("wan self, extreme (q x40)", 2, 32760, 12, 128, 40.0),
                             ("flux joint", 1, 4608, 24, 128, 1.0)]:
    g = torch.Generator(device="cuda").manual_seed(0)
    q, k, v = (torch.randn(B, S, H, D, device="cuda", dtype=torch.bfloat16, generator=g) for _ in range(3))
    q = (q.float() * qs).bfloat16()
    ref = torch.empty_like(q)
    plan = vg.attention_plan(B, H, S, S, D)
    ws = torch.empty(max(vg.attention_workspace(plan), 1), device="cuda", dtype=torch.uint8)
    vg.attention_run(plan, q, k, v, ref, ws)
    vg.call("vg_attention_plan_destroy", plan)
    plan = vg.sage_plan(B, H, S, S, D, block_q=128, block_k=192, kernel=vgn.SAGE_KERNEL_WGMMA)
    ws = torch.empty(vg.sage_workspace(plan), device="cuda", dtype=torch.uint8)
    out = torch.empty_like(q)
    vg.sage_run(plan, q, k, v, None, ws, phase=vgn.SAGE_PHASE_QUANTIZE)
    for r in range(rounds):
        for m in masks:
            os.environ["VG_SAGE_WGMMA_FMA_EXP"] = m
            ms = bench(lambda: vg.sage_run(plan, None, None, None, out, ws, phase=vgn.SAGE_PHASE_ATTEND), 2, 5)
            vg.sage_run(plan, None, None, None, out, ws, phase=vgn.SAGE_PHASE_ATTEND)
            torch.cuda.synchronize()
            c = cos(out, ref)
            results.setdefault((name, m), []).append((ms, c))
            print(f"{name:26s} mask {m:5s} round {r}: {ms:8.3f} ms  cosine vs bf16 {c:.6f}", flush=True)
    vg.call("vg_sage_attention_plan_destroy", plan)
    del q, k, v, ref, out, ws
    torch.cuda.empty_cache()
os.environ.pop("VG_SAGE_WGMMA_FMA_EXP", None)
print("\n| shape | FMA-pipe tiles (mask) | ms per round | cosine vs bf16 cuDNN |\n| --- | --- | --- | ---: |")
for (name, m), v in results.items():
    share = bin(int(m, 0) & 0xFF).count("1")
    print(f"| {name} | {m} ({share}/8{', int' if int(m, 0) & 0x100 else ''}) | {' / '.join(f'{x[0]:.3f}' for x in v)} | {v[0][1]:.6f} |")
wan = {m: sum(x[0] for x in v) / len(v) for (name, m), v in results.items() if name == "wan self"}
if wan:
    print("BEST", min(wan, key=wan.get))
