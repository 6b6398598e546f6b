using VisualGen.Tensors;

namespace VisualGen.Pipelines.Flux;

/// <summary>FluxPipeline's latent layout: 2×2 patches of the VAE latents packed into tokens
/// ([B, C, h, w] ↔ [B, (h/2)·(w/2), 4C], channel-major inside a token), and the image position ids.</summary>
public static class FluxLatents
{
    /// <summary>prepare_latents' latent height or width for an image size: 2·(size // (vae_scale_factor·2)).</summary>
    public static int LatentSize(int size, int vaeScaleFactor) => 2 * (size / (vaeScaleFactor * 2));

    /// <summary>The packed shape [batch, (h/2)·(w/2), 4·channels] for an image of <paramref name="height"/>×<paramref name="width"/>.</summary>
    public static long[] PackedShape(int batch, int channels, int height, int width, int vaeScaleFactor)
    {
        long h = LatentSize(height, vaeScaleFactor), w = LatentSize(width, vaeScaleFactor);
        return [batch, h / 2 * (w / 2), channels * 4];
    }

    /// <summary>_pack_latents: [B, C, h, w] → [B, (h/2)·(w/2), 4C].</summary>
    public static HostTensor Pack(HostTensor latents)
    {
        if (latents.Rank != 4 || latents.Shape[2] % 2 != 0 || latents.Shape[3] % 2 != 0)
            throw new ArgumentException($"latents must be [batch, channels, height, width] with even height and width, got {latents.ShapeText}", nameof(latents));
        long b = latents.Shape[0], c = latents.Shape[1], h = latents.Shape[2], w = latents.Shape[3];
        var src = latents.Floats;
        var dst = new float[src.Length];
        long i = 0;
        for (long bi = 0; bi < b; bi++)
            for (long y = 0; y < h / 2; y++)
                for (long x = 0; x < w / 2; x++)
                    for (long ci = 0; ci < c; ci++)
                        for (long dy = 0; dy < 2; dy++)
                            for (long dx = 0; dx < 2; dx++)
                                dst[i++] = src[((bi * c + ci) * h + 2 * y + dy) * w + 2 * x + dx];
        return HostTensor.Float32(dst, b, h / 2 * (w / 2), c * 4);
    }

    /// <summary>_unpack_latents: [B, (h/2)·(w/2), 4C] → [B, C, h, w] for latent height <paramref name="h"/> and width <paramref name="w"/>.</summary>
    public static HostTensor Unpack(HostTensor packed, long h, long w)
    {
        if (packed.Rank != 3 || packed.Shape[1] != h / 2 * (w / 2) || packed.Shape[2] % 4 != 0)
            throw new ArgumentException($"packed latents {packed.ShapeText} do not hold a {h}×{w} latent grid of 2×2 patches", nameof(packed));
        long b = packed.Shape[0], c = packed.Shape[2] / 4;
        var src = packed.Floats;
        var dst = new float[src.Length];
        long i = 0;
        for (long bi = 0; bi < b; bi++)
            for (long y = 0; y < h / 2; y++)
                for (long x = 0; x < w / 2; x++)
                    for (long ci = 0; ci < c; ci++)
                        for (long dy = 0; dy < 2; dy++)
                            for (long dx = 0; dx < 2; dx++)
                                dst[((bi * c + ci) * h + 2 * y + dy) * w + 2 * x + dx] = src[i++];
        return HostTensor.Float32(dst, b, c, h, w);
    }

    /// <summary>_prepare_latent_image_ids: [(h/2)·(w/2), 3] rows (0, row, column) of the packed token grid.</summary>
    public static HostTensor ImageIds(long packedHeight, long packedWidth)
    {
        var ids = new float[packedHeight * packedWidth * 3];
        for (long y = 0; y < packedHeight; y++)
            for (long x = 0; x < packedWidth; x++)
            {
                long row = (y * packedWidth + x) * 3;
                ids[row + 1] = y;
                ids[row + 2] = x;
            }
        return HostTensor.Float32(ids, packedHeight * packedWidth, 3);
    }

    /// <summary>encode_prompt's text_ids: zeros [text_tokens, 3].</summary>
    public static HostTensor TextIds(long textTokens) => HostTensor.Zeros(textTokens, 3);
}
