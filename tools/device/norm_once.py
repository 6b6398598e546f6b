"""Nsight Compute's subject for run.sh's ncurows stage: one launch each of the forward's memory-bound row kernels at
Wan 1.3B's shape: gated residual + LayerNorm+modulate -> FP8 rows, q/k RMSNorm + RoPE, per-row FP8 quantize
[65520, 8960] of x and of GELU(x)."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "native", "python"))
import visualgen_native as vgn  # noqa: E402

vg = vgn.Native(sys.argv[1])
dev = "cuda"
B, T, C, H, D = 2, 32760, 1536, 12, 128
R = B * T
x, y = (torch.randn(R, C, device=dev, dtype=torch.bfloat16) for _ in range(2))
sc, sh, gate = (torch.randn(B, C, device=dev) * 0.1 for _ in range(3))
total = torch.empty_like(x)
codes = torch.empty(R, C, device=dev, dtype=torch.uint8)
rs = torch.empty(R, device=dev)
vg.residual_norm(vgn.NORM_LAYER, x, y, vgn.row_vector(gate, C), total, codes, R, T, C, 1e-6, row_scales=rs,
                 scale=vgn.row_vector(sc, C), shift=vgn.row_vector(sh, C))
w = torch.randn(C, device=dev, dtype=torch.bfloat16)
cos, sin = (torch.randn(T, D // 2, device=dev) for _ in range(2))
vg.rmsnorm_rope(x, total, R, T, H, D, 1e-6, w, cos, sin)
xc = torch.randn(R, 8960, device=dev, dtype=torch.bfloat16)
qc = torch.empty(R, 8960, device=dev, dtype=torch.uint8)
vg.quantize_fp8_rows(xc, qc, rs)
vg.quantize_fp8_rows_gelu(xc, qc, rs)
torch.cuda.synchronize()
print("norm_once: done")
