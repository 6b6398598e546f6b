"""The Sage wgmma kernel (192-key blocks) under each value of an environment variable that an experiment's library reads
at every launch (tools/device/experiments: VARIANT_ENV, e.g. VG_SAGE_WGMMA_VARIANT, set to each of MASKS in turn):
main kernel alone, rounds alternating the values, cosine against bf16 cuDNN attention on the same inputs, and the
largest |difference| from the first value's output (0 where a variant must give the same bits).

    bash tools/device/run.sh build; VARIANT_ENV=VG_SAGE_WGMMA_VARIANT MASKS="0 1 2" ROUNDS=3 python3 tools/device/sage_variant_sweep.py [LIB]

With LIBS="A.so B.so" the variants are libraries instead (two builds of the kernel, each with its own plan and
quantized inputs, in one process): an A/B of a kernel change that has no switch."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "native", "python"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
import visualgen_native as vgn  # noqa: E402
from peer_common import bench, cosine  # noqa: E402
from sage_real_inputs import bf16_attention  # noqa: E402

libs = os.environ.get("LIBS", "").split()
vgs = {lib: vgn.Native(lib) for lib in libs}
vg = vgs[libs[0]] if libs else vgn.Native(sys.argv[1] if len(sys.argv) > 1 else "native/build/libvisualgen_native.so")
masks = libs or os.environ.get("MASKS", "0 1").split()
variant_env = "library" if libs else os.environ.get("VARIANT_ENV", "VG_SAGE_WGMMA_VARIANT")
rounds = int(os.environ.get("ROUNDS", "2"))


results, diffs = {}, {}
for name, B, S, H, D, qs in [("wan self", 2, 32760, 12, 128, 1.0), ("wan self, peaked (q x4)", 2, 32760, 12, 128, 4.0),
                             ("wan self, extreme (q x40)", 2, 32760, 12, 128, 40.0),
                             # scales c = q_scale · k_scale near 0.16, where sage-codes' first code rule gave NaN codes
                             ("4096 tokens, q x1000 (huge scales)", 2, 4096, 12, 128, 1000.0),
                             ("flux joint", 1, 4608, 24, 128, 1.0),
                             ("777 tokens (5 key blocks, the last 9 keys)", 2, 777, 12, 128, 1.5),
                             ("700 tokens (4 key blocks, the last 124 keys)", 2, 700, 12, 128, 1.5),
                             # Wan's cross-attention (512 text tokens): 192-key blocks (the last one masked) and 128
                             ("wan cross, 192-key blocks", 2, (32760, 512, 192), 12, 128, 1.0),
                             ("wan cross, 128-key blocks", 2, (32760, 512, 128), 12, 128, 1.0)]:
    S, Skv, BK = S if isinstance(S, tuple) else (S, S, 192)
    g = torch.Generator(device="cuda").manual_seed(0)
    q = torch.randn(B, S, H, D, device="cuda", dtype=torch.bfloat16, generator=g)
    k, v = (torch.randn(B, Skv, H, D, device="cuda", dtype=torch.bfloat16, generator=g) for _ in range(2))
    q = (q.float() * qs).bfloat16()
    ref = bf16_attention(vg, q, k, v)
    runs = {}  # variant -> (library, plan, workspace): one for every library, else one shared by the switch's values
    for m in masks:
        lib = vgs[m] if libs else vg
        if libs or not runs:
            plan = lib.sage_plan(B, H, S, Skv, D, block_q=128, block_k=BK, kernel=vgn.SAGE_KERNEL_WGMMA)
            ws = torch.empty(lib.sage_workspace(plan), device="cuda", dtype=torch.uint8)
            lib.sage_run(plan, q, k, v, None, ws, phase=vgn.SAGE_PHASE_QUANTIZE)
            runs[m] = (lib, plan, ws)
        else:
            runs[m] = next(iter(runs.values()))
    out = torch.empty_like(q)
    first = None
    for r in range(rounds):
        for m in masks:
            lib, plan, ws = runs[m]
            if not libs:
                os.environ[variant_env] = m
            ms = bench(lambda: lib.sage_run(plan, None, None, None, out, ws, phase=vgn.SAGE_PHASE_ATTEND), 2, 5)
            lib.sage_run(plan, None, None, None, out, ws, phase=vgn.SAGE_PHASE_ATTEND)
            torch.cuda.synchronize()
            c = cosine(out, ref)
            if first is None:
                first = out.clone()
            d = (out.float() - first.float()).abs().max().item()
            results.setdefault((name, m), []).append((ms, c))
            diffs[(name, m)] = max(diffs.get((name, m), 0.0), d)
            print(f"{name:26s} {variant_env}={m:5s} round {r}: {ms:8.3f} ms  cosine vs bf16 {c:.6f}  max |diff| vs {masks[0]} {d:.3e}", flush=True)
    for lib, plan, _ in {id(x[1]): x for x in runs.values()}.values():  # one destroy per plan
        lib.call("vg_sage_attention_plan_destroy", plan)
    runs.clear()
    del q, k, v, ref, out, ws, first
    torch.cuda.empty_cache()
if not libs:
    os.environ.pop(variant_env, None)
print(f"\n| shape | {variant_env} | ms per round | cosine vs bf16 cuDNN | max abs diff vs {masks[0]} |\n| --- | --- | --- | ---: | ---: |")
for (name, m), v in results.items():
    print(f"| {name} | {m} | {' / '.join(f'{x[0]:.3f}' for x in v)} | {v[0][1]:.6f} | {diffs[(name, m)]:.2e} |")
wan = {m: sum(x[0] for x in v) / len(v) for (name, m), v in results.items() if name == "wan self"}
if wan:
    print("BEST", min(wan, key=wan.get))
