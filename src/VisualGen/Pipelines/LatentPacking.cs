using VisualGen.Tensors;

namespace VisualGen.Pipelines;

/// <summary>
/// 2×2 latent packing of the FLUX and Qwen-Image pipelines (their _pack_latents / _unpack_latents): latents
/// [batch, channels, height, width] become tokens [batch, (height/2)·(width/2), channels·4], each token holding one
/// 2×2 patch as (channel, row, column).
/// </summary>
public static class LatentPacking
{
    /// <summary>[batch, channels, height, width] → [batch, (height/2)·(width/2), channels·4].</summary>
    public static HostTensor Pack(HostTensor latents)
    {
        if (latents.Rank != 4 || latents.Shape[2] % 2 != 0 || latents.Shape[3] % 2 != 0)
            throw new ArgumentException($"expected [batch, channels, height, width] latents with even height and width, got {latents.ShapeText}", nameof(latents));
        long b = latents.Shape[0], c = latents.Shape[1], h = latents.Shape[2], w = latents.Shape[3];
        return HostTensor.Float32(Permute(latents.Floats, b, c, h, w, pack: true), b, h / 2 * (w / 2), c * 4);
    }

    /// <summary>[batch, (height/2)·(width/2), channels·4] → [batch, channels, height, width] (height, width in latent pixels).</summary>
    public static HostTensor Unpack(HostTensor packed, long height, long width)
    {
        if (packed.Rank != 3 || height % 2 != 0 || width % 2 != 0 || packed.Shape[1] != height / 2 * (width / 2) || packed.Shape[2] % 4 != 0)
            throw new ArgumentException($"packed latents {packed.ShapeText} do not fit a {height}×{width} latent grid of 2×2 patches", nameof(packed));
        long b = packed.Shape[0], c = packed.Shape[2] / 4;
        return HostTensor.Float32(Permute(packed.Floats, b, c, height, width, pack: false), b, c, height, width);
    }

    /// <summary>The 2×2 patch permutation between [b, c, h, w] (grid) and [b, (h/2)·(w/2), c·4] (packed), either way.</summary>
    static float[] Permute(float[] src, long b, long c, long h, long w, bool pack)
    {
        var dst = new float[src.Length];
        long i = 0;
        for (long bi = 0; bi < b; bi++)
            for (long y = 0; y < h / 2; y++)
                for (long x = 0; x < w / 2; x++)
                    for (long ci = 0; ci < c; ci++)
                        for (long dy = 0; dy < 2; dy++)
                            for (long dx = 0; dx < 2; dx++, i++)
                            {
                                long grid = ((bi * c + ci) * h + 2 * y + dy) * w + 2 * x + dx;
                                if (pack) dst[i] = src[grid]; else dst[grid] = src[i];
                            }
        return dst;
    }
}
