"""The PyTorch side of the FLUX benchmark (tools/device/run.sh flux stage).

  make    DIR   random-weight FluxTransformer2DModel with FLUX.1-dev's widths (3072 = 24 heads x 128, joint dim 4096,
                pooled 768, guidance embeds, RoPE axes 16/56/56) and a reduced depth (FLUX_LAYERS double + 2x single
                blocks; the full model's 19 + 38 does not fit the GPU machine's disk once exported to fp32 ONNX), saved as
                a diffusers folder DIR/flux (model_index.json naming FluxPipeline); fp32 inputs for 1024x1024 (4096
                image + 512 text tokens) DIR/io/flux_inputs.safetensors; the PyTorch bf16 output
                (DIR/io/flux_ref.safetensors); eager timings (default and cuDNN SDPA)
  compare DIR   our outputs (bf16 and FP8 attention) vs PyTorch bf16: cosine, rel. L2
  compile DIR   torch.compile timing (same weights and inputs)
"""
import json
import os
import sys
import time

import torch
from safetensors.torch import load_file, save_file

from cuda_timing import bench

LAYERS = int(os.environ.get("FLUX_LAYERS", "5"))
CFG = dict(patch_size=1, in_channels=64, num_layers=LAYERS, num_single_layers=2 * LAYERS, attention_head_dim=128,
           num_attention_heads=24, joint_attention_dim=4096, pooled_projection_dim=768, guidance_embeds=True,
           axes_dims_rope=(16, 56, 56))
N_IMG, N_TXT = 4096, 512




def model(d):
    from diffusers import FluxTransformer2DModel
    return FluxTransformer2DModel.from_pretrained(os.path.join(d, "flux", "transformer"), torch_dtype=torch.bfloat16).cuda().eval()


def inputs(d):
    x = load_file(os.path.join(d, "io", "flux_inputs.safetensors"), device="cuda")
    bf = {k: x[k].bfloat16() for k in ("hidden_states", "encoder_hidden_states", "pooled_projections")}
    return dict(**bf, timestep=x["timestep"].bfloat16(), guidance=x["guidance"].bfloat16(),
                img_ids=x["img_ids"], txt_ids=x["txt_ids"], return_dict=False)


def make(d):
    from diffusers import FluxTransformer2DModel
    torch.manual_seed(0)
    with torch.device("cuda"):
        m = FluxTransformer2DModel(**CFG)
    with torch.no_grad():  # no trivially-zero path (diffusers zero-initializes some projections)
        for n, p in m.named_parameters():
            if p.abs().max() == 0:
                p.normal_(0, 0.02)
    m = m.to(torch.bfloat16).eval()
    out = os.path.join(d, "flux")
    m.save_pretrained(os.path.join(out, "transformer"))
    with open(os.path.join(out, "model_index.json"), "w") as f:
        json.dump({"_class_name": "FluxPipeline", "_diffusers_version": "0.40.0.dev0", "transformer": ["diffusers", "FluxTransformer2DModel"]}, f)
    os.makedirs(os.path.join(d, "io"), exist_ok=True)
    g = torch.Generator(device="cuda").manual_seed(int(time.time()))  # fresh inputs every run
    ids = torch.zeros(64, 64, 3, device="cuda")
    ids[..., 1] = torch.arange(64, device="cuda")[:, None]
    ids[..., 2] = torch.arange(64, device="cuda")[None, :]
    x = {"hidden_states": torch.randn(1, N_IMG, 64, device="cuda", generator=g),
         "encoder_hidden_states": torch.randn(1, N_TXT, 4096, device="cuda", generator=g),
         "pooled_projections": torch.randn(1, 768, device="cuda", generator=g),
         # diffusers casts timestep and guidance to bf16 and multiplies by 1000 in bf16; 0.5 and 4.0 (500, 4000) are
         # exact there, so both sides embed the same values (ours computes in fp32)
         "timestep": torch.tensor([0.5], device="cuda"),
         "guidance": torch.tensor([4.0], device="cuda"),
         "img_ids": ids.reshape(-1, 3), "txt_ids": torch.zeros(N_TXT, 3, device="cuda")}
    save_file({k: v.float().contiguous().cpu() for k, v in x.items()}, os.path.join(d, "io", "flux_inputs.safetensors"))
    print(f"params: {sum(p.numel() for p in m.parameters()) / 1e9:.3f} B ({LAYERS} double + {2 * LAYERS} single blocks)")
    with torch.no_grad():
        kw = inputs(d)
        ref = m(**kw)[0]
        save_file({"sample": ref.float().contiguous().cpu()}, os.path.join(d, "io", "flux_ref.safetensors"))
        # the same weights in float32: how far bf16 itself is from the float32 result on this random model
        m32 = m.float()
        kw32 = {k: (v.float() if torch.is_tensor(v) else v) for k, v in kw.items()}
        ref32 = m32(**kw32)[0]
        save_file({"sample": ref32.contiguous().cpu()}, os.path.join(d, "io", "flux_ref32.safetensors"))
        r, r32 = ref.double().flatten(), ref32.double().flatten()
        print(f"PyTorch bf16 vs PyTorch fp32 (same weights): cosine {torch.nn.functional.cosine_similarity(r, r32, dim=0).item():.6f}, "
              f"rel L2 {((r - r32).norm() / r32.norm()).item():.3e}")
        m = m32.to(torch.bfloat16)
        del m32
        best = None
        for name, be in [("default", None), ("cudnn", torch.nn.attention.SDPBackend.CUDNN_ATTENTION)]:
            if be is None:
                ms = bench(lambda: m(**kw))
            else:
                with torch.nn.attention.sdpa_kernel([be]):
                    ms = bench(lambda: m(**kw))
            print(f"torch eager flux 1024x1024 sdpa {name}: {ms:.1f} ms")
            best = ms if best is None else min(best, ms)
    with open(os.path.join(d, "io", "flux_torch_table.txt"), "a") as f:
        f.write(f"torch eager (best SDPA) FLUX 1024x1024, {LAYERS}+{2 * LAYERS} blocks | {best:.1f}\n")


def compare(d):
    ref = load_file(os.path.join(d, "io", "flux_ref.safetensors"))["sample"].double()
    status = 0
    for tag, label in (("", "bf16 attention"), ("_fp8", "FP8 self-attention")):
        path = os.path.join(d, "io", f"flux_ours{tag}.safetensors")
        if not os.path.exists(path):
            continue
        ours = load_file(path)["sample"].double()
        assert ref.shape == ours.shape, (ref.shape, ours.shape)
        cos = torch.nn.functional.cosine_similarity(ref.flatten(), ours.flatten(), dim=0).item()
        rel = ((ref - ours).norm() / ref.norm()).item()
        ok = cos >= 0.999 and not torch.isnan(ours).any()
        status |= 0 if ok else 1
        print(f"FLUX 1024x1024, ours with {label} vs PyTorch bf16: cosine {cos:.6f}, rel L2 {rel:.3e} -> {'PASS' if ok else 'FAIL'}")
        ref32 = load_file(os.path.join(d, "io", "flux_ref32.safetensors"))["sample"].double()
        c32 = torch.nn.functional.cosine_similarity(ref32.flatten(), ours.flatten(), dim=0).item()
        print(f"FLUX 1024x1024, ours with {label} vs PyTorch fp32: cosine {c32:.6f}, rel L2 {((ref32 - ours).norm() / ref32.norm()).item():.3e}")
    return status


def compile_(d):
    m = model(d)
    mc = torch.compile(m)
    with torch.no_grad():
        kw = inputs(d)
        with torch.nn.attention.sdpa_kernel([torch.nn.attention.SDPBackend.CUDNN_ATTENTION]):
            t0 = time.time(); mc(**kw); torch.cuda.synchronize()
            ms = bench(lambda: mc(**kw))
    print(f"torch.compile FLUX 1024x1024 (cuDNN SDPA): {ms:.1f} ms (compile {time.time() - t0:.0f} s)")
    with open(os.path.join(d, "io", "flux_torch_table.txt"), "a") as f:
        f.write(f"torch.compile FLUX 1024x1024, {LAYERS}+{2 * LAYERS} blocks | {ms:.1f}\n")


if __name__ == "__main__":
    cmd, d = sys.argv[1], sys.argv[2]
    sys.exit({"make": make, "compare": compare, "compile": compile_}[cmd](d) or 0)
