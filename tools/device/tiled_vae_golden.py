"""Golden outputs of diffusers' tiled VAE decode (`vae.enable_tiling()`) for tests/VisualGen.Tests/Data/tiled_vae/,
and of the causal VAEs' tiled encode (the latent distribution's mean of a video larger than one tile).

Builds tiny random VAEs (float32, torch.manual_seed), saves each in diffusers format (save_pretrained, safetensors),
draws latents, and writes diffusers' tiled decode of them (and the untiled decode, for reference) to golden.safetensors:

  autoencoder_kl/            FLUX.1-like AutoencoderKL (latent_channels 16, no quant convs), sample_size 32:
                             tile_latent_min_size 4, a 64x96 image (latent 8x12) decodes in 3x4 tiles
  autoencoder_kl_post_quant/ AutoencoderKL with quant_conv/post_quant_conv, 3 blocks, sample_size 16: 48x80 image
  autoencoder_kl_qwenimage/  AutoencoderKLQwenImage, tiles 32/24 sample pixels: a 64x96 image, one latent frame
  autoencoder_kl_wan/        AutoencoderKLWan (Wan 2.2 style: residual, patch_size 2), tiles 32/24: 40x56, 2 latent frames

Each decoder's conv_out is scaled so that part of its output lies outside [-1, 1] (where the clamps differ).
tiles.json records the tile settings given to diffusers. The whole folder stays well under 2 MB.
Needs torch (CPU is fine) and diffusers' source on PYTHONPATH.

    python3 tools/device/tiled_vae_golden.py OUT_DIR
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file

from diffusers import AutoencoderKL, AutoencoderKLQwenImage, AutoencoderKLWan


def scale_conv_out(vae, z, target_std=1.6):
    """Scales decoder.conv_out (weight and bias: its output scales exactly) so that the decoder's raw output (before any
    clamp; read through a forward hook) has about target_std, over the untiled decode of z."""
    seen = []
    hook = vae.decoder.conv_out.register_forward_hook(lambda module, args, output: seen.append(output.detach().flatten()))
    with torch.no_grad():
        vae.disable_tiling()
        vae.decode(z)
        hook.remove()
        s = target_std / max(float(torch.cat(seen).std()), 1e-6)
        vae.decoder.conv_out.weight.mul_(s)
        vae.decoder.conv_out.bias.mul_(s)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    tensors, tiles = {}, {}

    # FLUX.1-like AutoencoderKL: 4 blocks (scale 8), latent_channels 16, no quant convs, shift and scale as FLUX's
    kl = AutoencoderKL(
        in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
        block_out_channels=[4, 8, 8, 8], layers_per_block=1, act_fn="silu", latent_channels=16, norm_num_groups=4,
        sample_size=32, scaling_factor=0.3611, shift_factor=0.1159, use_quant_conv=False, use_post_quant_conv=False,
        mid_block_add_attention=True,
    ).float().eval()
    # post_quant_conv per tile: a second AutoencoderKL with quant convs, 3 blocks (scale 4), sample_size 16
    kl_pq = AutoencoderKL(
        in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 3, up_block_types=["UpDecoderBlock2D"] * 3,
        block_out_channels=[4, 8, 8], layers_per_block=1, act_fn="silu", latent_channels=4, norm_num_groups=4,
        sample_size=16, use_quant_conv=True, use_post_quant_conv=True, mid_block_add_attention=True,
    ).float().eval()
    for name, vae, (h, w) in [("autoencoder_kl", kl, (8, 12)), ("autoencoder_kl_post_quant", kl_pq, (12, 20))]:
        z = torch.randn(1, vae.config.latent_channels, h, w, dtype=torch.float32)
        scale_conv_out(vae, z)
        with torch.no_grad():
            vae.disable_tiling()
            untiled = vae.decode(z).sample
            vae.enable_tiling()
            # the defaults from sample_size, set explicitly
            vae.tile_sample_min_size = vae.config.sample_size
            vae.tile_latent_min_size = int(vae.config.sample_size / (2 ** (len(vae.config.block_out_channels) - 1)))
            vae.tile_overlap_factor = 0.25
            tiled = vae.decode(z).sample
        vae.save_pretrained(os.path.join(out, name), safe_serialization=True)
        tensors[f"{name}.latents"] = z.contiguous()
        tensors[f"{name}.tiled"] = tiled.contiguous()
        tensors[f"{name}.untiled"] = untiled.contiguous()
        tiles[name] = {"tile_sample_min_size": vae.tile_sample_min_size, "tile_latent_min_size": vae.tile_latent_min_size,
                       "tile_overlap_factor": vae.tile_overlap_factor}

    # AutoencoderKLQwenImage: 3 down stages (spatial 8), one latent frame (an image)
    qwen = AutoencoderKLQwenImage(
        base_dim=4, z_dim=4, dim_mult=[1, 2, 2, 2], num_res_blocks=1, attn_scales=[],
        temperal_downsample=[False, True, True], dropout=0.0, input_channels=3,
        latents_mean=[0.1, -0.2, 0.3, 0.0], latents_std=[1.5, 2.0, 0.8, 1.2],
    ).float().eval()
    # AutoencoderKLWan, Wan 2.2 style: residual blocks, patch_size 2 (decoder x4, patches x2: spatial 8), 2 latent frames
    wan = AutoencoderKLWan(
        base_dim=4, decoder_base_dim=8, z_dim=4, dim_mult=[1, 2, 2], num_res_blocks=1, attn_scales=[],
        temperal_downsample=[True, True], dropout=0.0,
        latents_mean=[0.1, -0.2, 0.3, 0.0], latents_std=[1.5, 2.0, 0.8, 1.2],
        is_residual=True, in_channels=12, out_channels=12, patch_size=2, scale_factor_temporal=4, scale_factor_spatial=8,
    ).float().eval()
    settings = dict(tile_sample_min_height=32, tile_sample_min_width=32, tile_sample_stride_height=24, tile_sample_stride_width=24)
    # videos for tiled_encode, larger than one tile (Wan: 40 x 48 patches of 2 pixels; Qwen-Image: one frame)
    videos = {"autoencoder_kl_qwenimage": (1, 3, 1, 56, 72), "autoencoder_kl_wan": (1, 3, 5, 80, 96)}
    for name, vae, shape in [("autoencoder_kl_qwenimage", qwen, (1, 4, 1, 8, 12)), ("autoencoder_kl_wan", wan, (1, 4, 2, 5, 7))]:
        z = torch.randn(*shape, dtype=torch.float32)
        scale_conv_out(vae, z)
        x = torch.rand(*videos[name], dtype=torch.float32) * 2 - 1
        with torch.no_grad():
            vae.disable_tiling()
            untiled = vae.decode(z).sample
            encoded = vae.encode(x).latent_dist.mean
            vae.enable_tiling(**settings)
            tiled = vae.decode(z).sample
            encoded_tiled = vae.encode(x).latent_dist.mean
        vae.save_pretrained(os.path.join(out, name), safe_serialization=True)
        tensors[f"{name}.latents"] = z.contiguous()
        tensors[f"{name}.tiled"] = tiled.contiguous()
        tensors[f"{name}.untiled"] = untiled.contiguous()
        tensors[f"{name}.video"] = x.contiguous()
        tensors[f"{name}.encode_tiled"] = encoded_tiled.contiguous()
        tensors[f"{name}.encode_untiled"] = encoded.contiguous()
        tiles[name] = dict(settings, spatial_compression_ratio=vae.spatial_compression_ratio)

    save_file(tensors, os.path.join(out, "golden.safetensors"))
    json.dump({"generator": "diffusers tiled_decode (tools/device/tiled_vae_golden.py)", "torch": torch.__version__, "tiles": tiles},
              open(os.path.join(out, "tiles.json"), "w"), indent=1)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
    for k, v in tensors.items():
        print(f"  {k}: {list(v.shape)} min {float(v.min()):.3f} max {float(v.max()):.3f}")
    print(f"tiled_vae golden: {len(tiles)} VAEs -> {out} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
