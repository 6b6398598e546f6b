"""End-to-end FLUX.1-dev text-to-image on one GPU, diffusers side (needs diffusers' src on PYTHONPATH, see
shared/peer/README.md); modelled on shared/peer/bench_e2e_wan.py. A random-weight pipeline at full size (the real
FLUX.1-dev transformer (12B), CLIP-L, T5-XXL v1.1 encoder and VAE configs; the tiny flux1 fixture tokenizers, whose
ids stay below both vocabularies), then diffusers' FluxPipeline timed stage by stage in bf16 on CUDA.

  make DIR                 writes DIR/flux1dev_full (diffusers folder, bf16 safetensors, about 34 GB)
  run  DIR H W STEPS       times encode_prompt, the denoising loop (guidance 3.5, embedded) and the VAE decode (second run)

Environment: VG_FLUX_TOKENIZERS = a FLUX checkpoint folder whose tokenizer/ and tokenizer_2/ are copied (default: the
flux1 conformance fixture beside or inside this folder, in .peer/ of the checkout, or in /work/shared);
FLUX_VAE_FP32=1 loads the VAE in float32 for `run` (default: bf16 like the rest of the pipeline, diffusers' usual way);
FLUX_COMPILE=1 wraps the transformer in torch.compile (default mode; compiled during the warm-up run, so the timed run's
ms/step is the compiled full-depth forward).
"""
import json, os, resource, shutil, sys, time
import torch

from peer_common import randomize, save_component

_HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "flux1dev_full"
TOK = os.environ.get("VG_FLUX_TOKENIZERS") or next(
    (p for p in (os.path.join(_HERE, "conformance", "flux1", "checkpoint"),
                 os.path.join(_HERE, "..", "conformance", "flux1", "checkpoint"),
                 os.path.join(_HERE, "..", "..", ".peer", "conformance", "flux1", "checkpoint"),
                 "/work/shared/conformance/flux1/checkpoint")
     if os.path.isdir(os.path.join(p, "tokenizer")) and os.path.isdir(os.path.join(p, "tokenizer_2"))),
    "tokenizers-not-found")
CLIP_VOCAB, T5_VOCAB = 49408, 32128


def _fixture_tokenizers(out):
    """Copies the fixture tokenizers and checks that every id they can emit is inside the random models' vocabularies."""
    for sub in ("tokenizer", "tokenizer_2"):
        shutil.copytree(os.path.join(TOK, sub), os.path.join(out, sub), dirs_exist_ok=True)
    ids = {}
    for sub in ("tokenizer", "tokenizer_2"):
        with open(os.path.join(out, sub, "tokenizer.json")) as f:
            tj = json.load(f)
        vocab = tj["model"]["vocab"]
        vocab_ids = vocab.values() if isinstance(vocab, dict) else range(len(vocab))  # BPE: {token: id}; Unigram: [[piece, score]]
        ids[sub] = max(list(vocab_ids) + [t["id"] for t in tj.get("added_tokens", [])])
    assert ids["tokenizer"] < CLIP_VOCAB and ids["tokenizer_2"] < T5_VOCAB, f"fixture token ids {ids} exceed the vocabularies"
    with open(os.path.join(out, "tokenizer", "tokenizer_config.json")) as f:
        tc = json.load(f)
    # CLIPTextModel pools at the first eos id: the text encoder's config must name the fixture tokenizer's special ids
    special = {v["content"]: int(k) for k, v in tc.get("added_tokens_decoder", {}).items()}
    return ids, special.get(tc.get("bos_token"), 49406), special.get(tc.get("eos_token"), 49407), special.get(tc.get("pad_token"), 49407)


def make(d):
    from diffusers import FluxTransformer2DModel, AutoencoderKL, FlowMatchEulerDiscreteScheduler
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel
    out = os.path.join(d, NAME)
    os.makedirs(out, exist_ok=True)
    ids, bos, eos, pad = _fixture_tokenizers(out)
    torch.manual_seed(0)
    t0 = time.time()
    n = {}
    # one component at a time, built on the GPU (float32 init, then cast to bf16 parameter by parameter), saved and freed:
    # the 12B transformer peaks at ~48 GB of GPU memory and nothing else is resident meanwhile
    with torch.device("cuda"):
        tr = FluxTransformer2DModel(patch_size=1, in_channels=64, out_channels=None, num_layers=19, num_single_layers=38,
                                    attention_head_dim=128, num_attention_heads=24, joint_attention_dim=4096,
                                    pooled_projection_dim=768, guidance_embeds=True, axes_dims_rope=(16, 56, 56))
        tr = tr.to(torch.bfloat16)
    torch.cuda.empty_cache()
    randomize(tr)
    n["transformer"] = save_component(tr, os.path.join(out, "transformer")); tr = None
    with torch.device("cuda"):
        te2 = T5EncoderModel(T5Config(vocab_size=T5_VOCAB, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
                                      relative_attention_num_buckets=32, relative_attention_max_distance=128,
                                      dropout_rate=0.1, layer_norm_epsilon=1e-6, feed_forward_proj="gated-gelu",
                                      is_encoder_decoder=False, use_cache=False, tie_word_embeddings=False,
                                      pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)).to(torch.bfloat16)
    randomize(te2)
    n["text_encoder_2"] = save_component(te2, os.path.join(out, "text_encoder_2")); te2 = None
    with torch.device("cuda"):
        te = CLIPTextModel(CLIPTextConfig(vocab_size=CLIP_VOCAB, hidden_size=768, intermediate_size=3072, projection_dim=768,
                                          num_hidden_layers=12, num_attention_heads=12, max_position_embeddings=77,
                                          hidden_act="quick_gelu", layer_norm_eps=1e-5, attention_dropout=0.0,
                                          bos_token_id=bos, eos_token_id=eos, pad_token_id=pad)).to(torch.bfloat16)
        vae = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
                            up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(128, 256, 512, 512),
                            layers_per_block=2, act_fn="silu", latent_channels=16, norm_num_groups=32, sample_size=1024,
                            scaling_factor=0.3611, shift_factor=0.1159, force_upcast=True, use_quant_conv=False,
                            use_post_quant_conv=False, mid_block_add_attention=True).to(torch.bfloat16)
    randomize(te); randomize(vae)
    n["text_encoder"] = save_component(te, os.path.join(out, "text_encoder")); te = None
    n["vae"] = save_component(vae, os.path.join(out, "vae")); vae = None
    FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True, base_shift=0.5,
                                    max_shift=1.15, base_image_seq_len=256, max_image_seq_len=4096
                                    ).save_pretrained(os.path.join(out, "scheduler"))
    with open(os.path.join(out, "model_index.json"), "w") as f:
        json.dump({"_class_name": "FluxPipeline", "_diffusers_version": "0.40.0.dev0",
                   "feature_extractor": [None, None], "image_encoder": [None, None],
                   "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
                   "text_encoder": ["transformers", "CLIPTextModel"], "text_encoder_2": ["transformers", "T5EncoderModel"],
                   "tokenizer": ["transformers", "CLIPTokenizer"], "tokenizer_2": ["transformers", "T5Tokenizer"],
                   "transformer": ["diffusers", "FluxTransformer2DModel"], "vae": ["diffusers", "AutoencoderKL"]}, f, indent=2)
    print(f"made {out} in {time.time() - t0:.0f} s; params: transformer {n['transformer']/1e9:.2f} B, "
          f"T5 {n['text_encoder_2']/1e9:.2f} B, CLIP {n['text_encoder']/1e6:.0f} M, vae {n['vae']/1e6:.0f} M; "
          f"fixture tokenizers from {TOK} (max ids {ids}, CLIP bos/eos/pad {bos}/{eos}/{pad}); "
          f"peak GPU mem {torch.cuda.max_memory_allocated()/2**30:.1f} GiB")


def run(d, h, w, steps):
    from diffusers import FluxPipeline, AutoencoderKL
    src = os.path.join(d, NAME)
    vae_dtype = torch.float32 if os.environ.get("FLUX_VAE_FP32") == "1" else torch.bfloat16
    t0 = time.time()
    vae = AutoencoderKL.from_pretrained(os.path.join(src, "vae"), torch_dtype=vae_dtype)
    pipe = FluxPipeline.from_pretrained(src, vae=vae, torch_dtype=torch.bfloat16).to("cuda")
    compiled = os.environ.get("FLUX_COMPILE") == "1"
    if compiled:
        pipe.transformer = torch.compile(pipe.transformer)
    torch.cuda.synchronize(); load = time.time() - t0
    prompt = "A red fox runs across a snowy field at dawn."
    stamps = {}

    def cb(p, i, t, kw):
        torch.cuda.synchronize(); stamps.setdefault("first_step_end", time.time()); stamps["last_step_end"] = time.time()
        return kw
    warmup = 0.0
    for rep in range(2):  # the first run warms up (one step: kernels, allocator, compilation); the second is timed
        stamps.clear()
        if rep: warmup = time.time() - t_start
        else: t_start = time.time()
        torch.cuda.synchronize(); t0 = time.time()
        with torch.no_grad():
            pe, pooled, _ = pipe.encode_prompt(prompt, prompt_2=None, device="cuda", max_sequence_length=512)
        torch.cuda.synchronize(); t_enc = time.time() - t0
        g = torch.Generator("cuda").manual_seed(42)
        t1 = time.time()
        lat = pipe(prompt_embeds=pe, pooled_prompt_embeds=pooled, height=h, width=w,
                   num_inference_steps=steps if rep else 1, guidance_scale=3.5, generator=g, output_type="latent",
                   callback_on_step_end=cb).images
        torch.cuda.synchronize(); t_loop = time.time() - t1
        t2 = time.time()
        with torch.no_grad():
            z = pipe._unpack_latents(lat, h, w, pipe.vae_scale_factor).to(vae.dtype)
            z = z / vae.config.scaling_factor + vae.config.shift_factor
            image = vae.decode(z, return_dict=False)[0]
        torch.cuda.synchronize(); t_vae = time.time() - t2
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9  # ru_maxrss is KiB on Linux
    what = "diffusers+torch.compile" if compiled else "diffusers"
    print(f"{what} e2e {h}x{w}, {steps} steps, guidance 3.5: load {load:.1f} s, warm-up run {warmup:.0f} s, encode {t_enc*1000:.0f} ms, "
          f"denoise {t_loop:.2f} s ({t_loop/steps*1000:.0f} ms/step), vae decode {t_vae:.2f} s ({str(vae_dtype)[6:]}), "
          f"total {t_enc + t_loop + t_vae:.2f} s; image {tuple(image.shape)}, finite {bool(torch.isfinite(image).all())}; "
          f"peak mem {torch.cuda.max_memory_allocated()/2**30:.1f} GiB; peak host RSS {rss:.1f} GB")


if __name__ == "__main__":
    c, d = sys.argv[1], sys.argv[2]
    make(d) if c == "make" else run(d, *map(int, sys.argv[3:6]))
