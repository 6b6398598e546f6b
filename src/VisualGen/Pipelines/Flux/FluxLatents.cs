using VisualGen.Tensors;

namespace VisualGen.Pipelines.Flux;

/// <summary>FluxPipeline's latent sizes and position ids (packing itself is the shared <see cref="LatentPacking"/>).</summary>
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

    /// <summary>_prepare_latent_image_ids: [(h/2)·(w/2), 3] with (0, row, column) per packed token.</summary>
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
