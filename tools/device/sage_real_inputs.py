"""Sage attention on the Wan 1.3B forward's own q, k, v against random ones of the same shape: does the data change the
kernel's speed or accuracy? Captures the self-attention inputs of some blocks (after norm and RoPE, as diffusers hands
them to its attention dispatch) in one PyTorch forward of the wan_peer.py model at 480p, then times, for each, the
pre-pass alone, the main kernel alone and both, and takes the cosine against bf16 cuDNN attention on the same inputs.

    python3 tools/device/sage_real_inputs.py LIB WORKDIR [BLOCKS]   (WORKDIR as `wan_peer.py make` left it; BLOCKS e.g. 0,15,29)

VARIANT_ENV / VARIANTS (e.g. VARIANT_ENV=VG_SAGE_WGMMA_VARIANT VARIANTS="0 1 2"): an experiment's library reads that
variable at each launch; every row is then timed once per variant (alternating), and a variant's output is compared
with the first variant's (max |difference|). capture() and bf16_attention() serve the experiment sweeps too."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "native", "python"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
import visualgen_native as vgn  # noqa: E402
from peer_common import bench, cosine  # noqa: E402


def bf16_attention(vg, q, k, v):
    """Our bf16 cuDNN attention of [B, S, H, D] q, k, v (the reference the Sage variants are compared with)."""
    B, Sq, H, D = q.shape
    ref = torch.empty_like(q)
    plan = vg.attention_plan(B, H, Sq, k.shape[1], D)
    ws = torch.empty(max(vg.attention_workspace(plan), 1), device="cuda", dtype=torch.uint8)
    vg.attention_run(plan, q, k, v, ref, ws)
    vg.call("vg_attention_plan_destroy", plan)
    return ref


def capture(work, blocks):
    """{block: (q, k, v)} of the self-attentions of `blocks` in one forward of the wan_peer.py model at 480p."""
    import diffusers.models.transformers.transformer_wan as tw
    import wan_peer

    captured, calls = {}, [0]
    inner = tw.dispatch_attention_fn

    def spy(query, key, value, *a, **kw):
        if query.shape[1] == key.shape[1]:  # self-attention: one call per block
            i = calls[0]
            calls[0] += 1
            if i in blocks:
                captured[i] = tuple(t.detach().clone().contiguous() for t in (query, key, value))
        return inner(query, key, value, *a, **kw)

    tw.dispatch_attention_fn = spy
    try:
        m = wan_peer.model(work)
        with torch.no_grad():
            m(**wan_peer.inputs(work, "480"), return_dict=False)
        del m
    finally:
        tw.dispatch_attention_fn = inner
    torch.cuda.empty_cache()
    print(f"captured self-attention inputs of blocks {sorted(captured)} of {calls[0]}", flush=True)
    return captured


def stats(q, k):
    """rms of q and k, |mean_t k| / rms(k) (what smoothing removes), the spread of a sample of log2-scaled scores and
    their median distance below the row maximum."""
    qf, kf = q[:, :4096].float(), k.float()
    kmean = kf.mean(dim=1, keepdim=True)
    s = torch.einsum("bqhd,bkhd->bhqk", qf[:, :256], (kf - kmean)[:, ::8]) * (q.shape[-1] ** -0.5) * 1.4427
    rowmax = s.amax(-1, keepdim=True)
    return (qf.pow(2).mean().sqrt().item(), kf.pow(2).mean().sqrt().item(),
            (kmean.norm() / kf.pow(2).mean().sqrt() / kmean.numel() ** 0.5).item(), s.std().item(),
            (rowmax - s).median().item())


def main():
    vg = vgn.Native(sys.argv[1])
    work = sys.argv[2]
    blocks = [int(b) for b in (sys.argv[3] if len(sys.argv) > 3 else "0,15,29").split(",")]
    variant_env, variants = os.environ.get("VARIANT_ENV"), os.environ.get("VARIANTS", "").split()
    if not variant_env or not variants:
        variant_env, variants = None, [""]
    captured = capture(work, blocks)
    rows = []
    for name, qkv in [(f"block {i}", captured[i]) for i in sorted(captured)] + [("random N(0,1)", None)]:
        if qkv is not None:
            q, k, v = qkv
        else:
            g = torch.Generator(device="cuda").manual_seed(0)
            shape = captured[blocks[0]][0].shape
            q, k, v = (torch.randn(shape, device="cuda", dtype=torch.bfloat16, generator=g) for _ in range(3))
        B, S, H, D = q.shape
        ref = bf16_attention(vg, q, k, v)
        plan = vg.sage_plan(B, H, S, S, D, kernel=vgn.SAGE_KERNEL_WGMMA)
        ws = torch.empty(vg.sage_workspace(plan), device="cuda", dtype=torch.uint8)
        out = torch.empty_like(q)
        first = None
        for var in variants:
            if variant_env:
                os.environ[variant_env] = var
            pre = bench(lambda: vg.sage_run(plan, q, k, v, None, ws, phase=vgn.SAGE_PHASE_QUANTIZE), 2, 7)
            main_ms = bench(lambda: vg.sage_run(plan, None, None, None, out, ws, phase=vgn.SAGE_PHASE_ATTEND), 2, 7)
            both = bench(lambda: vg.sage_run(plan, q, k, v, out, ws), 2, 7)
            vg.sage_run(plan, q, k, v, out, ws)
            torch.cuda.synchronize()
            c = cosine(out, ref)
            if first is None:
                first = out.clone()
            diff = (out.float() - first.float()).abs().max().item()
            qr, kr, km, sd, gap = stats(q, k)
            label = name + (f", {variant_env}={var}" if variant_env else "")
            rows.append((label, pre, main_ms, both, c, diff, qr, kr, km, sd, gap))
            print(f"{label}: pre-pass {pre:.3f} ms, main {main_ms:.3f} ms, both {both:.3f} ms, cosine vs bf16 {c:.6f}, "
                  f"max |diff| vs the first variant {diff:.3e}", flush=True)
        vg.call("vg_sage_attention_plan_destroy", plan)
        del ref, ws, out, first
        torch.cuda.empty_cache()
    if variant_env:
        os.environ.pop(variant_env, None)

    print("\n| inputs | pre-pass ms | main kernel ms | both ms | cosine vs bf16 cuDNN | max abs diff vs first variant | rms q | "
          "rms k | mean k / rms k | score sd (log2) | median gap to row max |\n"
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r[0]} | {r[1]:.3f} | {r[2]:.3f} | {r[3]:.3f} | {r[4]:.6f} | {r[5]:.2e} | {r[6]:.2f} | {r[7]:.2f} | "
              f"{r[8]:.2f} | {r[9]:.2f} | {r[10]:.2f} |")


if __name__ == "__main__":
    main()
