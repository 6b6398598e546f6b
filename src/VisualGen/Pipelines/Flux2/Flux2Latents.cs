using VisualGen.Tensors;

namespace VisualGen.Pipelines.Flux2;

/// <summary>
/// Flux2Pipeline's latent layouts and position ids. The pipeline's latents are patchified: [batch, 4·channels, h, w]
/// with h = height / (vae_scale_factor·2), each channel block of 4 one 2×2 patch (channel, row, column) of the VAE's
/// latents; packed they are tokens [batch, h·w, 4·channels] (row-major over the grid, as _pack_latents). Position
/// ids are (T, H, W, L) per token: image tokens (0, row, column, 0), text tokens (0, 0, 0, index).
/// </summary>
public static class Flux2Latents
{
    /// <summary>The patchified grid (h, w) for an image size: 2·(size // (vsf·2)) // 2.</summary>
    public static (int Height, int Width) Grid(int height, int width, int vaeScaleFactor) =>
        (height / (vaeScaleFactor * 2), width / (vaeScaleFactor * 2));

    /// <summary>_pack_latents: [batch, channels, h, w] → [batch, h·w, channels].</summary>
    public static HostTensor Pack(HostTensor latents)
    {
        if (latents.Rank != 4) throw new ArgumentException($"expected [batch, channels, height, width] latents, got {latents.ShapeText}", nameof(latents));
        long b = latents.Shape[0], c = latents.Shape[1], hw = latents.Shape[2] * latents.Shape[3];
        return HostTensor.Float32(Transpose(latents.Floats, b, c, hw), b, hw, c);
    }

    /// <summary>_unpack_latents_with_ids for row-major image ids: [batch, h·w, channels] → [batch, channels, h, w].</summary>
    public static HostTensor Unpack(HostTensor packed, long height, long width)
    {
        if (packed.Rank != 3 || packed.Shape[1] != height * width)
            throw new ArgumentException($"packed latents {packed.ShapeText} do not fit a {height}×{width} token grid", nameof(packed));
        long b = packed.Shape[0], c = packed.Shape[2];
        return HostTensor.Float32(Transpose(packed.Floats, b, height * width, c), b, c, height, width);
    }

    /// <summary>_patchify_latents: [batch, channels, 2h, 2w] → [batch, 4·channels, h, w], channel block 4c + 2·dy + dx
    /// holding the patch element (dy, dx) of channel c.</summary>
    public static HostTensor Patchify(HostTensor latents)
    {
        if (latents.Rank != 4 || latents.Shape[2] % 2 != 0 || latents.Shape[3] % 2 != 0)
            throw new ArgumentException($"expected [batch, channels, 2h, 2w] latents, got {latents.ShapeText}", nameof(latents));
        long b = latents.Shape[0], c = latents.Shape[1], h = latents.Shape[2] / 2, w = latents.Shape[3] / 2;
        return HostTensor.Float32(MovePatches(latents.Floats, b, c, h, w, toPatches: true), b, 4 * c, h, w);
    }

    /// <summary>_unpatchify_latents: [batch, 4·channels, h, w] → [batch, channels, 2h, 2w].</summary>
    public static HostTensor Unpatchify(HostTensor latents)
    {
        if (latents.Rank != 4 || latents.Shape[1] % 4 != 0)
            throw new ArgumentException($"expected [batch, 4·channels, h, w] patchified latents, got {latents.ShapeText}", nameof(latents));
        long b = latents.Shape[0], c = latents.Shape[1] / 4, h = latents.Shape[2], w = latents.Shape[3];
        return HostTensor.Float32(MovePatches(latents.Floats, b, c, h, w, toPatches: false), b, c, 2 * h, 2 * w);
    }

    /// <summary>Element (2y + dy, 2x + dx) of channel ci in the grid layout is element (y, x) of channel 4·ci + 2·dy + dx in
    /// the patchified one; copies one layout into the other.</summary>
    static float[] MovePatches(float[] src, long b, long c, long h, long w, bool toPatches)
    {
        var dst = new float[src.Length];
        for (long bi = 0; bi < b; bi++)
            for (long ci = 0; ci < c; ci++)
                for (long dy = 0; dy < 2; dy++)
                    for (long dx = 0; dx < 2; dx++)
                        for (long y = 0; y < h; y++)
                            for (long x = 0; x < w; x++)
                            {
                                long patched = (((bi * c + ci) * 4 + dy * 2 + dx) * h + y) * w + x;
                                long grid = ((bi * c + ci) * 2 * h + 2 * y + dy) * 2 * w + 2 * x + dx;
                                if (toPatches) dst[patched] = src[grid]; else dst[grid] = src[patched];
                            }
        return dst;
    }

    /// <summary>_prepare_latent_ids: [h·w, 4] with (0, row, column, 0) per token.</summary>
    public static HostTensor ImageIds(long height, long width)
    {
        var ids = new float[height * width * 4];
        for (long y = 0; y < height; y++)
            for (long x = 0; x < width; x++)
            {
                long row = (y * width + x) * 4;
                ids[row + 1] = y;
                ids[row + 2] = x;
            }
        return HostTensor.Float32(ids, height * width, 4);
    }

    /// <summary>_prepare_text_ids: [text_tokens, 4] with (0, 0, 0, index) per token.</summary>
    public static HostTensor TextIds(long textTokens)
    {
        var ids = new float[textTokens * 4];
        for (long l = 0; l < textTokens; l++) ids[l * 4 + 3] = l;
        return HostTensor.Float32(ids, textTokens, 4);
    }

    static float[] Transpose(float[] src, long b, long rows, long cols)
    {
        var dst = new float[src.Length];
        for (long bi = 0; bi < b; bi++)
            for (long r = 0; r < rows; r++)
                for (long c = 0; c < cols; c++)
                    dst[(bi * cols + c) * rows + r] = src[(bi * rows + r) * cols + c];
        return dst;
    }
}
