"""Goldens of diffusers' image editing where the conformance fixtures have none, on the CPU in float32 with the fixtures'
prompt embeddings and initial latents and a pseudo-random image (an LCG the C# tests repeat); the final packed latents:
- Flux2Pipeline(image=...) on the tiny flux2 checkpoint, 64×48 (tests/VisualGen.Tests/Data/flux2_edit.json), and the
  reference preprocessing of an image larger than 1024² pixels (PIL's LANCZOS to the target area, centre crop), sampled
  every 16th row and column as 8-bit levels;
- FluxKontextPipeline(image=..., max_area=64·48) on the tiny flux1 checkpoint (the architecture is FLUX.1's), 64×48
  (tests/VisualGen.Tests/Data/flux1_kontext.json), and the Kontext resize of the image (LANCZOS to the nearest preferred
  resolution) sampled the same way;
- WanImageToVideoPipeline(expand_timesteps=True) on the tiny wan22_ti2v_5b checkpoint (Wan 2.2 TI2V with a first frame),
  the fixture's size and frames (tests/VisualGen.Tests/Data/wan22_ti2v_image.json), and the image as the video processor
  resizes it, sampled the same way;
- WanImageToVideoPipeline(image=..., last_image=...) on the tiny wan22_i2v_a14b checkpoint (both experts, no CLIP): the
  fixture's call and image with a pseudo-random last frame (tests/VisualGen.Tests/Data/wan22_i2v_last_image.json).
Needs torch, PIL and diffusers' source on PYTHONPATH, and the fixtures (.peer/conformance on the GPU machine).

    python3 tools/device/edit_goldens.py .peer/conformance OUT_DIR
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

from cover_resize_golden import lcg_image  # the same LCG images as the Cosmos3 golden (tools/device, on sys.path)
from diffusers import (AutoencoderKLWan, UniPCMultistepScheduler, WanImageToVideoPipeline, WanTransformer3DModel)
from diffusers import (AutoencoderKL, AutoencoderKLFlux2, FlowMatchEulerDiscreteScheduler, FluxKontextPipeline, Flux2Pipeline,
                       Flux2Transformer2DModel, FluxTransformer2DModel)


def write_golden(out, generator, image, call, latents, lanczos, samples):
    """One golden: the call, the final packed latents, and the resized image's levels every 16th row and column."""
    json.dump({
        "generator": generator, "image": image,
        "height": call["height"], "width": call["width"], "num_inference_steps": call["num_inference_steps"],
        "guidance_scale": call["guidance_scale"],
        "latents_final_shape": list(latents.shape), "latents_final": latents.flatten().tolist(),
        "lanczos": {**lanczos, "step": 16, "samples_shape": list(samples.shape), "levels_hwc": samples.flatten().tolist()},
    }, open(out, "w"), separators=(",", ":"))


def smooth_image(h, w):
    """A large image the LANCZOS check can sample without storing it: levels from a formula the C# test repeats."""
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 // (w - 1)).astype(np.int64)
    g = (y * 255 // (h - 1)).astype(np.int64)
    b = ((x * 7 + y * 13) % 256).astype(np.int64)
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def fixture(family):
    """A conformance fixture: its checkpoint folder, golden tensors and the pipeline call of golden.json."""
    return (os.path.join(family, "checkpoint"), load_file(os.path.join(family, "golden.safetensors")),
            json.load(open(os.path.join(family, "golden.json")))["call"])


def flux2(family, out):
    ckpt, golden, call = fixture(family)
    pipe = Flux2Pipeline(
        scheduler=FlowMatchEulerDiscreteScheduler.from_pretrained(ckpt, subfolder="scheduler"),
        vae=AutoencoderKLFlux2.from_pretrained(ckpt, subfolder="vae", torch_dtype=torch.float32),
        text_encoder=None, tokenizer=None,  # the golden's prompt embeddings stand in for the Mistral3 encoder
        transformer=Flux2Transformer2DModel.from_pretrained(ckpt, subfolder="transformer", torch_dtype=torch.float32),
    )
    seed, (h, w) = 4242, (96, 80)
    image = Image.fromarray(lcg_image(h, w, seed))
    with torch.no_grad():
        latents = pipe(prompt_embeds=golden["text_encoder.prompt_embeds"].float(), image=image,
                       latents=golden["pipeline.latents_init"].float(), height=call["height"], width=call["width"],
                       num_inference_steps=call["num_inference_steps"], guidance_scale=call["guidance_scale"], output_type="latent").images
    # the preprocessing alone of a large image: _resize_to_target_area (LANCZOS), then the crop to multiples of 16
    big_h, big_w = 1100, 1000
    big = Image.fromarray(smooth_image(big_h, big_w))
    resized = pipe.image_processor._resize_to_target_area(big, 1024 * 1024)
    rw, rh = resized.size
    cw, ch = rw // 16 * 16, rh // 16 * 16
    cropped = np.asarray(pipe.image_processor._resize_and_crop(resized, cw, ch))
    samples = cropped[::16, ::16].astype(np.int64)
    write_golden(out, "diffusers Flux2Pipeline(image=...), CPU float32", {"height": h, "width": w, "seed": seed}, call, latents,
                 {"source": [big_h, big_w], "resized": [rh, rw], "cropped": [ch, cw]}, samples)
    print(f"flux2 edit golden: latents {list(latents.shape)}, lanczos {big_w}x{big_h} -> {rw}x{rh} -> {cw}x{ch} -> {out}")


def kontext(family, out):
    ckpt, golden, call = fixture(family)
    pipe = FluxKontextPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler.from_pretrained(ckpt, subfolder="scheduler"),
        vae=AutoencoderKL.from_pretrained(ckpt, subfolder="vae", torch_dtype=torch.float32),
        text_encoder=None, tokenizer=None, text_encoder_2=None, tokenizer_2=None,  # the golden's embeddings stand in
        transformer=FluxTransformer2DModel.from_pretrained(ckpt, subfolder="transformer", torch_dtype=torch.float32),
    )
    seed, (h, w) = 4243, (40, 60)
    image = Image.fromarray(lcg_image(h, w, seed))
    with torch.no_grad():
        latents = pipe(prompt_embeds=golden["text_encoder_2.prompt_embeds"].float(),
                       pooled_prompt_embeds=golden["text_encoder.pooled_prompt_embeds"].float(), image=image,
                       latents=golden["pipeline.latents_init"].float(), height=call["height"], width=call["width"],
                       max_area=call["height"] * call["width"], num_inference_steps=call["num_inference_steps"],
                       guidance_scale=call["guidance_scale"], output_type="latent").images
    # the image as the pipeline resizes it (step 3 of __call__, _auto_resize)
    iw, ih = pipe.image_processor.get_default_height_width(image)[::-1]
    aspect = iw / ih
    _, rw, rh = min((abs(aspect - pw / ph), pw, ph) for pw, ph in
                    __import__("diffusers.pipelines.flux.pipeline_flux_kontext", fromlist=["x"]).PREFERRED_KONTEXT_RESOLUTIONS)
    resized = np.asarray(pipe.image_processor.resize(image, rh, rw))
    samples = resized[::16, ::16].astype(np.int64)
    write_golden(out, "diffusers FluxKontextPipeline(image=..., max_area=height·width), CPU float32",
                 {"height": h, "width": w, "seed": seed}, call, latents, {"source": [h, w], "resized": [rh, rw]}, samples)
    print(f"flux1 kontext golden: latents {list(latents.shape)}, image {w}x{h} -> {rw}x{rh} -> {out}")


def ti2v(family, out):
    ckpt, golden, call = fixture(family)
    pipe = WanImageToVideoPipeline(
        tokenizer=None, text_encoder=None,  # the golden's prompt embeddings stand in for UMT5
        vae=AutoencoderKLWan.from_pretrained(ckpt, subfolder="vae", torch_dtype=torch.float32),
        scheduler=UniPCMultistepScheduler.from_pretrained(ckpt, subfolder="scheduler"),
        image_processor=None, image_encoder=None,
        transformer=WanTransformer3DModel.from_pretrained(ckpt, subfolder="transformer", torch_dtype=torch.float32),
        transformer_2=None, boundary_ratio=None, expand_timesteps=True,
    )
    seed, (h, w) = 4244, (50, 70)
    image = Image.fromarray(lcg_image(h, w, seed))
    with torch.no_grad():
        latents = pipe(image=image, prompt_embeds=golden["text_encoder.prompt_embeds"].float(),
                       negative_prompt_embeds=golden["text_encoder.negative_prompt_embeds"].float(),
                       latents=golden["pipeline.latents_init"].float(), height=call["height"], width=call["width"],
                       num_frames=call["num_frames"], num_inference_steps=call["num_inference_steps"],
                       guidance_scale=call["guidance_scale"], output_type="latent").frames
    # the image as preprocessed (in [-1, 1]) back to 8-bit levels
    pre = pipe.video_processor.preprocess(image, height=call["height"], width=call["width"])[0]
    samples = ((pre.permute(1, 2, 0) + 1.0) * 127.5).round().to(torch.int64).numpy()[::16, ::16]
    write_golden(out, "diffusers WanImageToVideoPipeline(expand_timesteps=True), CPU float32", {"height": h, "width": w, "seed": seed},
                 call, latents, {"source": [h, w], "resized": [call["height"], call["width"]]}, samples)
    print(f"wan22 ti2v image golden: latents {list(latents.shape)} -> {out}")


def last_frame(family, out):
    ckpt, golden, call = fixture(family)
    pipe = WanImageToVideoPipeline(
        tokenizer=None, text_encoder=None, image_processor=None, image_encoder=None,
        vae=AutoencoderKLWan.from_pretrained(ckpt, subfolder="vae", torch_dtype=torch.float32),
        scheduler=UniPCMultistepScheduler.from_pretrained(ckpt, subfolder="scheduler"),
        transformer=WanTransformer3DModel.from_pretrained(ckpt, subfolder="transformer", torch_dtype=torch.float32),
        transformer_2=WanTransformer3DModel.from_pretrained(ckpt, subfolder="transformer_2", torch_dtype=torch.float32),
        boundary_ratio=json.load(open(os.path.join(ckpt, "model_index.json")))["boundary_ratio"], expand_timesteps=False,
    )
    seed, (h, w) = 4245, (40, 56)
    last = Image.fromarray(lcg_image(h, w, seed))
    with torch.no_grad():
        latents = pipe(image=Image.open(os.path.join(family, call["image"])).convert("RGB"), last_image=last,
                       prompt_embeds=golden["text_encoder.prompt_embeds"].float(),
                       negative_prompt_embeds=golden["text_encoder.negative_prompt_embeds"].float(),
                       latents=golden["pipeline.latents_init"].float(), height=call["height"], width=call["width"],
                       num_frames=call["num_frames"], num_inference_steps=call["num_inference_steps"],
                       guidance_scale=call["guidance_scale"], guidance_scale_2=call["guidance_scale_2"], output_type="latent").frames
    pre = pipe.video_processor.preprocess(last, height=call["height"], width=call["width"])[0]
    samples = ((pre.permute(1, 2, 0) + 1.0) * 127.5).round().to(torch.int64).numpy()[::16, ::16]
    write_golden(out, "diffusers WanImageToVideoPipeline(last_image=...), CPU float32", {"height": h, "width": w, "seed": seed},
                 call, latents, {"source": [h, w], "resized": [call["height"], call["width"]]}, samples)
    print(f"wan22 i2v last-frame golden: latents {list(latents.shape)} -> {out}")


def main():
    fixtures, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    # each golden whose fixture is carried (the device tool's 64 MiB cap may leave one for another call)
    for make, family, name in ((flux2, "flux2", "flux2_edit.json"), (kontext, "flux1", "flux1_kontext.json"),
                               (ti2v, "wan22_ti2v_5b", "wan22_ti2v_image.json"),
                               (last_frame, "wan22_i2v_a14b", "wan22_i2v_last_image.json")):
        if os.path.isdir(os.path.join(fixtures, family)):
            make(os.path.join(fixtures, family), os.path.join(out_dir, name))
        else:
            print(f"{name}: skipped, no {family} fixture carried")


if __name__ == "__main__":
    main()
