"""Median GPU time of a callable by CUDA events, shared by the PyTorch-side benchmark scripts."""
import torch


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
