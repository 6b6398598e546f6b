"""The Sage pre-pass of two native libraries on the same inputs, byte for byte: the whole workspace after the quantize
phase (Q's and K's INT8 codes and scales, V's e4m3 codes and scales, K's mean and the partial sums), for shapes whose
token counts are and are not multiples of the blocks. An experiment that claims the same codes (sage-prepass-i8.patch)
must print "identical" on every line.

    python3 tools/device/experiments/same_prepass.py native/build/base.so native/build/libvisualgen_native.so"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "native", "python"))
import visualgen_native as vgn  # noqa: E402

libs = [vgn.Native(path) for path in sys.argv[1:3]]
failed = 0
for B, S, H, D, q_group, k_group, scale in [(2, 32760, 12, 128, 16, 64, 1.0), (1, 4608, 24, 128, 16, 64, 3.0),
                                            (2, 777, 12, 128, 16, 64, 1.5), (2, 700, 12, 128, 64, 128, 1.5),
                                            (1, 130, 4, 128, 128, 128, 40.0)]:
    g = torch.Generator(device="cuda").manual_seed(S)
    q, k, v = (torch.randn(B, S, H, D, device="cuda", dtype=torch.bfloat16, generator=g) for _ in range(3))
    k = (k.float() * scale + 2.0).bfloat16()  # a mean for the smoothing to take out
    work = []
    for vg in libs:
        plan = vg.sage_plan(B, H, S, S, D, block_q=128, block_k=192, kernel=vgn.SAGE_KERNEL_WGMMA, q_scale_tokens=q_group,
                            k_scale_tokens=k_group)
        ws = torch.zeros(vg.sage_workspace(plan), device="cuda", dtype=torch.uint8)
        vg.sage_run(plan, q, k, v, None, ws, phase=vgn.SAGE_PHASE_QUANTIZE)
        torch.cuda.synchronize()
        vg.call("vg_sage_attention_plan_destroy", plan)
        work.append(ws)
    diff = (work[0] != work[1]).nonzero()
    name = f"B{B} S{S} H{H} D{D} groups {q_group}x{k_group}"
    if diff.numel() == 0:
        print(f"prepass {name}: identical ({work[0].numel()} bytes)")
    else:
        failed += 1
        print(f"prepass {name}: {diff.numel()} of {work[0].numel()} bytes differ, first at byte {diff[0].item()}")
sys.exit(1 if failed else 0)
