"""Shared by the PyTorch-side benchmark scripts: GPU timing by CUDA events, comparing our outputs with PyTorch's, and
writing random-weight components of full-size checkpoints."""
import os

import torch
from safetensors.torch import load_file


def bench(fn, warm=2, rep=5):
    """Median milliseconds of `rep` calls of fn after `warm` calls, each timed by CUDA events on the current stream."""
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(rep):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record(); fn(); b.record()
        torch.cuda.synchronize()
        ts.append(a.elapsed_time(b))
    ts.sort()
    return ts[len(ts) // 2]


def cosine(a, b):
    """Cosine similarity of two tensors' values, in float64."""
    a, b = a.double().flatten(), b.double().flatten()
    return (a @ b / (a.norm() * b.norm())).item()


def compare_outputs(ref, ours_path, label, ref32=None):
    """Prints our output (a safetensors file with "sample") against PyTorch bf16 `ref` (and float32 `ref32` when given):
    cosine and rel. L2; PASS needs cosine >= 0.999 and no NaN. Returns 0 when it passes, 1 when not, None when
    there is no such output."""
    if not os.path.exists(ours_path):
        return None
    ours = load_file(ours_path)["sample"].double()
    assert ref.shape == ours.shape, (ref.shape, ours.shape)
    cos = torch.nn.functional.cosine_similarity(ref.flatten(), ours.flatten(), dim=0).item()
    rel = ((ref - ours).norm() / ref.norm()).item()
    ok = cos >= 0.999 and not torch.isnan(ours).any()
    print(f"{label} vs PyTorch bf16: cosine {cos:.6f}, rel L2 {rel:.3e} -> {'PASS' if ok else 'FAIL'}")
    if ref32 is not None:
        c32 = torch.nn.functional.cosine_similarity(ref32.flatten(), ours.flatten(), dim=0).item()
        print(f"{label} vs PyTorch fp32: cosine {c32:.6f}, rel L2 {((ref32 - ours).norm() / ref32.norm()).item():.3e}")
    return 0 if ok else 1


def randomize(m):
    """Parameters a constructor zero-initializes (biases, some output layers) get small noise so nothing is trivially zero."""
    with torch.no_grad():
        for p in m.parameters():
            if p.abs().max() == 0:
                p.normal_(0, 0.02)


def save_component(m, path):
    """Saves a component (safetensors, sharded where large), frees it from the GPU; returns its parameter count."""
    m.save_pretrained(path)
    n = sum(p.numel() for p in m.parameters())
    del m
    torch.cuda.empty_cache()
    return n
