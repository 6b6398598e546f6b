"""The PyTorch side of the native-engine benchmark (tools/device/run.sh engine stage).

  make    DIR   random-weight Wan 2.1 1.3B WanTransformer3DModel (bf16, seeded) saved as a diffusers folder DIR/wan13b
                (model_index.json naming WanPipeline/transformer), fp32 inputs DIR/io/inputs_{480,720}.safetensors,
                the PyTorch bf16 output at 480p (DIR/io/ref_480.safetensors), eager timings (default and cuDNN SDPA)
  compare DIR   our output vs PyTorch bf16: cosine, rel. L2
  compile DIR   torch.compile timings at 480p and 720p (same weights and inputs)
WAN_RES=480 (a comma list) limits every command to those resolutions.
"""
import json
import os
import sys
import time

import torch
from safetensors.torch import load_file, save_file

from peer_common import bench, compare_outputs

CFG = dict(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
           text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
           qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024)
SHAPES = {"480": (21, 60, 104), "720": (21, 90, 160)}
if os.environ.get("WAN_RES"):  # e.g. WAN_RES=480: only those resolutions (inputs, eager and compile timings)
    SHAPES = {r: SHAPES[r] for r in os.environ["WAN_RES"].split(",")}




def model(d):
    from diffusers import WanTransformer3DModel
    return WanTransformer3DModel.from_pretrained(os.path.join(d, "wan13b", "transformer"), torch_dtype=torch.bfloat16).cuda().eval()


def inputs(d, res):
    x = load_file(os.path.join(d, "io", f"inputs_{res}.safetensors"), device="cuda")
    return dict(hidden_states=x["hidden_states"].bfloat16(), timestep=x["timestep"], encoder_hidden_states=x["encoder_hidden_states"].bfloat16())


def make(d):
    from diffusers import WanTransformer3DModel
    torch.manual_seed(0)
    with torch.device("cuda"):
        m = WanTransformer3DModel(**CFG)
    # diffusers' init leaves some weights at zero (e.g. the scale_shift tables are randn/sqrt(dim)); keep its init,
    # but make every zero-initialized parameter random so no path is trivially zero
    with torch.no_grad():
        for n, p in m.named_parameters():
            if p.abs().max() == 0:
                p.normal_(0, 0.02)
    m = m.to(torch.bfloat16).eval()
    out = os.path.join(d, "wan13b")
    m.save_pretrained(os.path.join(out, "transformer"))
    with open(os.path.join(out, "model_index.json"), "w") as f:
        json.dump({"_class_name": "WanPipeline", "_diffusers_version": "0.40.0.dev0", "transformer": ["diffusers", "WanTransformer3DModel"]}, f)
    os.makedirs(os.path.join(d, "io"), exist_ok=True)
    g = torch.Generator(device="cuda").manual_seed(int(time.time()))  # fresh inputs every run
    for res, (f_, h, w) in SHAPES.items():
        x = {"hidden_states": torch.randn(2, 16, f_, h, w, device="cuda", generator=g),
             "timestep": torch.tensor([float(torch.randint(1, 1000, (1,), generator=g, device="cuda"))] * 2, device="cuda"),
             "encoder_hidden_states": torch.randn(2, 512, 4096, device="cuda", generator=g)}
        save_file({k: v.float().contiguous().cpu() for k, v in x.items()}, os.path.join(d, "io", f"inputs_{res}.safetensors"))
    print(f"params: {sum(p.numel() for p in m.parameters()) / 1e9:.3f} B")
    if os.environ.get("VG_NO_EAGER"):
        return
    with torch.no_grad():
        x = inputs(d, "480")
        ref = m(**x, return_dict=False)[0]
        save_file({"sample": ref.float().contiguous().cpu()}, os.path.join(d, "io", "ref_480.safetensors"))
        rows = []
        for res in SHAPES:
            x = inputs(d, res)
            best = None
            for name, be in [("default", None), ("cudnn", torch.nn.attention.SDPBackend.CUDNN_ATTENTION)]:
                def fwd():
                    return m(**x, return_dict=False)
                if be is None:
                    ms = bench(fwd, 1, 3)
                else:
                    with torch.nn.attention.sdpa_kernel([be]):
                        ms = bench(fwd, 1, 3)
                print(f"torch eager {res}p sdpa {name}: {ms:.1f} ms")
                best = ms if best is None else min(best, ms)
            rows.append(f"torch eager (best SDPA) {res}p | {best:.1f}")
    with open(os.path.join(d, "io", "torch_table.txt"), "a") as f:
        f.write("\n".join(rows) + "\n")


def compare(d):
    ref = load_file(os.path.join(d, "io", "ref_480.safetensors"))["sample"].double()
    results = [compare_outputs(ref, os.path.join(d, "io", f"ours{tag}_480.safetensors"), f"1.3B 480p, ours with {what}")
               for tag, what in (("", "bf16 attention"), ("_fp8", "FP8 self-attention"))]
    return 1 if any(r == 1 for r in results) else 0


def compile_(d):
    m = model(d)
    mc = torch.compile(m)
    rows = []
    with torch.no_grad():
        for res in SHAPES:
            x = inputs(d, res)
            with torch.nn.attention.sdpa_kernel([torch.nn.attention.SDPBackend.CUDNN_ATTENTION]):
                t0 = time.time(); mc(**x, return_dict=False); torch.cuda.synchronize()
                ms = bench(lambda: mc(**x, return_dict=False), 1, 3)
            print(f"torch.compile {res}p (cuDNN SDPA): {ms:.1f} ms (compile {time.time() - t0:.0f} s)")
            rows.append(f"torch.compile {res}p | {ms:.1f}")
    with open(os.path.join(d, "io", "torch_table.txt"), "a") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    cmd, d = sys.argv[1], sys.argv[2]
    sys.exit({"make": make, "compare": compare, "compile": compile_}[cmd](d) or 0)
