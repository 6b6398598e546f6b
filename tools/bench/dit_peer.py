"""The PyTorch side of the image-DiT benchmarks (tools/device/run.sh flux / qwen stages), one script for both
families; MODEL is "flux" or "qwen".

  make    MODEL DIR   random-weight transformer with the real model's widths and a reduced depth (DIT_LAYERS; the full
                      models do not fit the GPU machine's disk once exported to fp32 ONNX), saved as a diffusers folder
                      DIR/MODEL; fp32 inputs for 1024x1024 DIR/io/MODEL_inputs.safetensors; the PyTorch bf16 and fp32
                      outputs (DIR/io/MODEL_ref.safetensors, MODEL_ref32); eager timings (default and cuDNN SDPA)
  compare MODEL DIR   our outputs (bf16 and FP8 attention) vs PyTorch bf16 and fp32: cosine, rel. L2
  compile MODEL DIR   torch.compile timing (same weights and inputs)

FLUX: FLUX.1-dev widths (3072 = 24 heads x 128, joint dim 4096, pooled 768, guidance, RoPE 16/56/56), DIT_LAYERS double
+ 2x single blocks, 4096 image + 512 text tokens. Qwen-Image: 3072 = 24 x 128, joint dim 3584, RoPE 16/56/56,
DIT_LAYERS dual-stream blocks, 4096 image + 256 text tokens.
"""
import json
import os
import sys
import time

import torch
from safetensors.torch import load_file, save_file

from peer_common import bench, compare_outputs

LAYERS = int(os.environ.get("DIT_LAYERS", "5"))
N_IMG = 4096


def flux_config():
    return dict(patch_size=1, in_channels=64, num_layers=LAYERS, num_single_layers=2 * LAYERS, attention_head_dim=128,
                num_attention_heads=24, joint_attention_dim=4096, pooled_projection_dim=768, guidance_embeds=True,
                axes_dims_rope=(16, 56, 56))


def qwen_config():
    return dict(patch_size=2, in_channels=64, out_channels=16, num_layers=LAYERS, attention_head_dim=128,
                num_attention_heads=24, joint_attention_dim=3584, guidance_embeds=False, axes_dims_rope=(16, 56, 56))


def flux_inputs(g):
    ids = torch.zeros(64, 64, 3, device="cuda")
    ids[..., 1] = torch.arange(64, device="cuda")[:, None]
    ids[..., 2] = torch.arange(64, device="cuda")[None, :]
    # diffusers casts timestep and guidance to bf16 and multiplies by 1000 in bf16; 0.5 and 4.0 are exact there
    return {"hidden_states": torch.randn(1, N_IMG, 64, device="cuda", generator=g),
            "encoder_hidden_states": torch.randn(1, 512, 4096, device="cuda", generator=g),
            "pooled_projections": torch.randn(1, 768, device="cuda", generator=g),
            "timestep": torch.tensor([0.5], device="cuda"), "guidance": torch.tensor([4.0], device="cuda"),
            "img_ids": ids.reshape(-1, 3), "txt_ids": torch.zeros(512, 3, device="cuda")}


def qwen_inputs(g):
    return {"hidden_states": torch.randn(1, N_IMG, 64, device="cuda", generator=g),
            "encoder_hidden_states": torch.randn(1, 256, 3584, device="cuda", generator=g),
            "timestep": torch.tensor([0.5], device="cuda"),
            "img_shapes": torch.tensor([1, 64, 64], dtype=torch.int64)}


def flux_kwargs(x):
    bf = {k: x[k].bfloat16() for k in ("hidden_states", "encoder_hidden_states", "pooled_projections", "timestep", "guidance")}
    return dict(**bf, img_ids=x["img_ids"], txt_ids=x["txt_ids"], return_dict=False)


def qwen_kwargs(x):
    f, h, w = (int(v) for v in x["img_shapes"].tolist())
    return dict(hidden_states=x["hidden_states"].bfloat16(), encoder_hidden_states=x["encoder_hidden_states"].bfloat16(),
                timestep=x["timestep"].bfloat16(), img_shapes=[[(f, h, w)]], return_dict=False)


def kind(name):
    from diffusers import FluxTransformer2DModel, QwenImageTransformer2DModel
    return {"flux": (FluxTransformer2DModel, flux_config, flux_inputs, flux_kwargs, "FluxPipeline"),
            "qwen": (QwenImageTransformer2DModel, qwen_config, qwen_inputs, qwen_kwargs, "QwenImagePipeline")}[name]


def label(name):
    return f"{'FLUX' if name == 'flux' else 'Qwen-Image'} 1024x1024, {LAYERS} blocks"


def model(name, d):
    cls = kind(name)[0]
    return cls.from_pretrained(os.path.join(d, name, "transformer"), torch_dtype=torch.bfloat16).cuda().eval()


def inputs(name, d):
    x = load_file(os.path.join(d, "io", f"{name}_inputs.safetensors"), device="cuda")
    return kind(name)[3](x)


def make(name, d):
    cls, config, make_inputs, _, pipeline = kind(name)
    torch.manual_seed(0)
    with torch.device("cuda"):
        m = cls(**config())
    with torch.no_grad():  # no trivially-zero path (diffusers zero-initializes some projections)
        for n, p in m.named_parameters():
            if p.abs().max() == 0:
                p.normal_(0, 0.02)
    m = m.to(torch.bfloat16).eval()
    out = os.path.join(d, name)
    m.save_pretrained(os.path.join(out, "transformer"))
    with open(os.path.join(out, "model_index.json"), "w") as f:
        json.dump({"_class_name": pipeline, "_diffusers_version": "0.40.0.dev0", "transformer": ["diffusers", cls.__name__]}, f)
    os.makedirs(os.path.join(d, "io"), exist_ok=True)
    g = torch.Generator(device="cuda").manual_seed(int(time.time()))  # fresh inputs every run
    x = make_inputs(g)
    save_file({k: (v.float() if v.is_floating_point() else v).contiguous().cpu() for k, v in x.items()},
              os.path.join(d, "io", f"{name}_inputs.safetensors"))
    print(f"params: {sum(p.numel() for p in m.parameters()) / 1e9:.3f} B ({label(name)})")
    with torch.no_grad():
        kw = inputs(name, d)
        ref = m(**kw)[0]
        save_file({"sample": ref.float().contiguous().cpu()}, os.path.join(d, "io", f"{name}_ref.safetensors"))
        # the same weights in float32: how far bf16 itself is from the float32 result on this random model
        m32 = m.float()
        kw32 = {k: (v.float() if torch.is_tensor(v) and v.is_floating_point() else v) for k, v in kw.items()}
        ref32 = m32(**kw32)[0]
        save_file({"sample": ref32.contiguous().cpu()}, os.path.join(d, "io", f"{name}_ref32.safetensors"))
        r, r32 = ref.double().flatten(), ref32.double().flatten()
        print(f"PyTorch bf16 vs PyTorch fp32 (same weights): cosine {torch.nn.functional.cosine_similarity(r, r32, dim=0).item():.6f}, "
              f"rel L2 {((r - r32).norm() / r32.norm()).item():.3e}")
        m = m32.to(torch.bfloat16)
        del m32
        best = None
        for sdpa, be in [("default", None), ("cudnn", torch.nn.attention.SDPBackend.CUDNN_ATTENTION)]:
            if be is None:
                ms = bench(lambda: m(**kw))
            else:
                with torch.nn.attention.sdpa_kernel([be]):
                    ms = bench(lambda: m(**kw))
            print(f"torch eager {label(name)} sdpa {sdpa}: {ms:.1f} ms")
            best = ms if best is None else min(best, ms)
    with open(os.path.join(d, "io", f"{name}_torch_table.txt"), "a") as f:
        f.write(f"torch eager (best SDPA) {label(name)} | {best:.1f}\n")


def compare(name, d):
    ref = load_file(os.path.join(d, "io", f"{name}_ref.safetensors"))["sample"].double()
    ref32 = load_file(os.path.join(d, "io", f"{name}_ref32.safetensors"))["sample"].double()
    results = [compare_outputs(ref, os.path.join(d, "io", f"{name}_ours{tag}.safetensors"), f"{label(name)}, ours with {what}", ref32)
               for tag, what in (("", "bf16 attention"), ("_fp8", "FP8 self-attention"))]
    return 1 if any(r == 1 for r in results) else 0


def compile_(name, d):
    m = model(name, d)
    mc = torch.compile(m)
    with torch.no_grad():
        kw = inputs(name, d)
        with torch.nn.attention.sdpa_kernel([torch.nn.attention.SDPBackend.CUDNN_ATTENTION]):
            t0 = time.time(); mc(**kw); torch.cuda.synchronize()
            ms = bench(lambda: mc(**kw))
    print(f"torch.compile {label(name)} (cuDNN SDPA): {ms:.1f} ms (compile {time.time() - t0:.0f} s)")
    with open(os.path.join(d, "io", f"{name}_torch_table.txt"), "a") as f:
        f.write(f"torch.compile {label(name)} | {ms:.1f}\n")


if __name__ == "__main__":
    cmd, name, d = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.exit({"make": make, "compare": compare, "compile": compile_}[cmd](name, d) or 0)
