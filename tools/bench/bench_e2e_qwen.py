"""End-to-end Qwen-Image text-to-image on one GPU, diffusers side (needs diffusers' src on PYTHONPATH, see
shared/peer/README.md); the Qwen-Image counterpart of bench_e2e_flux.py. A random-weight pipeline with the real
configs (the QwenImageTransformer2DModel of Qwen-Image, 60 blocks of 20B, cut to QWEN_LAYERS blocks; the
Qwen2.5-VL-7B text encoder; the Qwen-Image VAE) and the qwenimage conformance fixture's tokenizer and scheduler (the
fixture's token ids stay below Qwen2.5-VL's vocabulary; its scheduler config is Qwen-Image's; its text encoder config
is the template of the 7B one), then diffusers'
QwenImagePipeline timed stage by stage in bf16 on CUDA, true CFG (scale 4) with a negative prompt.

  make DIR                 writes DIR/qwenimage_full (bf16 safetensors: text encoder 16.6 GB, VAE 0.25 GB,
                           transformer 0.68 GB per block + 0.1 GB)
  run  DIR H W STEPS       times encode_prompt (prompt and negative prompt), the denoising loop and the VAE decode
                           (second run; the first runs one step)

Environment: QWEN_LAYERS = transformer blocks for `make` (default 20 of 60); VG_QWEN_FIXTURE = the qwenimage checkpoint
folder whose tokenizer/, scheduler/ and component configs are the templates (default: the conformance fixture beside or
inside this folder, in .peer/ of the checkout, or in /work/shared).
"""
import json, os, resource, shutil, sys, time
import torch

from peer_common import randomize, save_component

_HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "qwenimage_full"
LAYERS = int(os.environ.get("QWEN_LAYERS", "20"))
FIXTURE = os.environ.get("VG_QWEN_FIXTURE") or next(
    (p for p in (os.path.join(_HERE, "conformance", "qwenimage", "checkpoint"),
                 os.path.join(_HERE, "..", "conformance", "qwenimage", "checkpoint"),
                 os.path.join(_HERE, "..", "..", ".peer", "conformance", "qwenimage", "checkpoint"),
                 "/work/shared/conformance/qwenimage/checkpoint")
     if os.path.isfile(os.path.join(p, "model_index.json"))),
    "fixture-not-found")
PROMPT, NEGATIVE = "A red fox runs across a snowy field at dawn.", "blurry, low quality"


def _config(component):
    with open(os.path.join(FIXTURE, component, "config.json")) as f:
        return json.load(f)


def make(d):
    from diffusers import QwenImageTransformer2DModel, AutoencoderKLQwenImage
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    out = os.path.join(d, NAME)
    os.makedirs(out, exist_ok=True)
    for sub in ("tokenizer", "scheduler"):
        shutil.copytree(os.path.join(FIXTURE, sub), os.path.join(out, sub), dirs_exist_ok=True)
    vocab = 152064
    tok = json.load(open(os.path.join(out, "tokenizer", "tokenizer.json")))
    max_id = max(list(tok["model"]["vocab"].values()) + [t["id"] for t in tok.get("added_tokens", [])])
    assert max_id < vocab, f"fixture token id {max_id} exceeds Qwen2.5-VL's vocabulary"
    torch.manual_seed(0)
    t0 = time.time()
    n = {}
    # one component at a time on the GPU (float32 init, cast to bf16), saved and freed; diffusers' defaults for the
    # transformer and the VAE are Qwen-Image's configs
    with torch.device("cuda"):
        tr = QwenImageTransformer2DModel(num_layers=LAYERS).to(torch.bfloat16)
    torch.cuda.empty_cache()
    randomize(tr)
    n["transformer"] = save_component(tr, os.path.join(out, "transformer")); tr = None
    # the fixture's text encoder config (the keys this transformers version writes) with Qwen2.5-VL-7B's sizes
    te = _config("text_encoder")
    te["dtype"] = "bfloat16"
    te["text_config"].update(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                             num_key_value_heads=4, vocab_size=vocab, max_position_embeddings=128000,
                             max_window_layers=28, layer_types=["full_attention"] * 28)
    te["text_config"]["rope_parameters"]["mrope_section"] = [16, 24, 24]
    te["vision_config"].update(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, out_hidden_size=3584,
                               tokens_per_second=2)
    with torch.device("cuda"):
        enc = Qwen2_5_VLForConditionalGeneration(Qwen2_5_VLConfig.from_dict(te)).to(torch.bfloat16)
    torch.cuda.empty_cache()
    randomize(enc)
    n["text_encoder"] = save_component(enc, os.path.join(out, "text_encoder")); enc = None
    with torch.device("cuda"):
        vae = AutoencoderKLQwenImage().to(torch.bfloat16)
    randomize(vae)
    n["vae"] = save_component(vae, os.path.join(out, "vae")); vae = None
    shutil.copy(os.path.join(FIXTURE, "model_index.json"), os.path.join(out, "model_index.json"))  # last: the folder is complete
    print(f"made {out} in {time.time() - t0:.0f} s; params: transformer {n['transformer']/1e9:.2f} B ({LAYERS} of 60 blocks), "
          f"text encoder {n['text_encoder']/1e9:.2f} B, vae {n['vae']/1e6:.0f} M; tokenizer and scheduler from {FIXTURE} "
          f"(max token id {max_id}); peak GPU mem {torch.cuda.max_memory_allocated()/2**30:.1f} GiB")


def run(d, h, w, steps):
    from diffusers import QwenImagePipeline
    src = os.path.join(d, NAME)
    t0 = time.time()
    pipe = QwenImagePipeline.from_pretrained(src, torch_dtype=torch.bfloat16).to("cuda")
    torch.cuda.synchronize(); load = time.time() - t0
    layers = pipe.transformer.config.num_layers
    for rep in range(2):  # the first run warms up (one step: kernels, allocator); the second is timed
        torch.cuda.synchronize(); t0 = time.time()
        with torch.no_grad():
            pe, pm = pipe.encode_prompt(PROMPT, device="cuda", max_sequence_length=512)
            ne, nm = pipe.encode_prompt(NEGATIVE, device="cuda", max_sequence_length=512)
        torch.cuda.synchronize(); t_enc = time.time() - t0
        g = torch.Generator("cuda").manual_seed(42)
        t1 = time.time()
        lat = pipe(prompt_embeds=pe, prompt_embeds_mask=pm, negative_prompt_embeds=ne, negative_prompt_embeds_mask=nm,
                   true_cfg_scale=4.0, height=h, width=w, num_inference_steps=steps if rep else 1, generator=g,
                   output_type="latent").images
        torch.cuda.synchronize(); t_loop = time.time() - t1
        t2 = time.time()
        with torch.no_grad():  # the pipeline's own decode (output_type != "latent"), without the PIL postprocess
            vae = pipe.vae
            z = pipe._unpack_latents(lat, h, w, pipe.vae_scale_factor).to(vae.dtype)
            mean = torch.tensor(vae.config.latents_mean).view(1, vae.config.z_dim, 1, 1, 1).to(z.device, z.dtype)
            inv_std = 1.0 / torch.tensor(vae.config.latents_std).view(1, vae.config.z_dim, 1, 1, 1).to(z.device, z.dtype)
            image = vae.decode(z / inv_std + mean, return_dict=False)[0][:, :, 0]
        torch.cuda.synchronize(); t_vae = time.time() - t2
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # ru_maxrss is KiB on Linux
    print(f"diffusers e2e {h}x{w}, {steps} steps, true CFG 4 ({layers} transformer blocks, text {pe.shape[1]} + "
          f"{ne.shape[1]} tokens): load {load:.1f} s, encode {t_enc*1000:.0f} ms, "
          f"denoise {t_loop:.2f} s ({t_loop/steps*1000:.0f} ms/step), vae decode {t_vae:.2f} s, "
          f"total {t_enc + t_loop + t_vae:.2f} s; image {tuple(image.shape)}, finite {bool(torch.isfinite(image).all())}; "
          f"peak mem {torch.cuda.max_memory_allocated()/2**30:.1f} GiB; peak host RSS {rss:.1f} GB")


if __name__ == "__main__":
    c, d = sys.argv[1], sys.argv[2]
    make(d) if c == "make" else run(d, *map(int, sys.argv[3:6]))
