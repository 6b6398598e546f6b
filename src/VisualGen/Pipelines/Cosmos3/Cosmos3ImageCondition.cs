using VisualGen.Pipelines.Images;
using VisualGen.Pipelines.Wan;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Cosmos3;

/// <summary>
/// Image-to-video conditioning of Cosmos3OmniPipeline.prepare_latents: the image (uint8 values, as the pipeline reads a
/// PIL image) resized to cover the requested size and center-cropped (<see cref="CoverResize"/>, diffusers'
/// <c>_preprocess_conditioning_image</c>), rounded to 8 bits, scaled to [−1, 1], encoded by the Wan VAE and normalized;
/// it becomes latent frame 0. diffusers encodes
/// the image repeated over every frame, but the VAE is causal and encodes frame 0 alone first, so latent frame 0 is
/// the encoding of the image by itself.
/// </summary>
public static class Cosmos3ImageCondition
{
    /// <summary>Normalized latent frame 0 [1, z, 1, h, w] of a [any height, any width, 3] image in [0, 1], brought to
    /// <paramref name="height"/> × <paramref name="width"/>.</summary>
    public static HostTensor EncodeFirstFrame(WanVaeEncoder encoder, WanLatentStats stats, HostTensor image, int height, int width, CancellationToken ct)
    {
        var sized = CoverResize.ResizeAndCrop(Levels255(image), height, width);
        long h = height, w = width, plane = h * w;
        var src = sized.Floats;
        var video = new float[3 * plane];   // [1, 3, 1, H, W]
        for (long p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++)
                video[c * plane + p] = Math.Clamp(MathF.Round(src[p * 3 + c]), 0f, 255f) / 127.5f - 1f;
        return stats.Normalize(encoder.Encode(HostTensor.Float32(video, 1, 3, 1, h, w), ct));
    }

    /// <summary>The image in 0..255 (the pipeline's uint8 levels).</summary>
    static HostTensor Levels255(HostTensor image)
    {
        var v = image.Floats.Select(x => x * 255f).ToArray();
        return HostTensor.Float32(v, image.Shape);
    }

    /// <summary>Writes <paramref name="firstFrame"/> [1, z, 1, h, w] over latent frame 0 of <paramref name="latents"/> [1, z, T, h, w].</summary>
    public static void AnchorFirstFrame(float[] latents, HostTensor firstFrame)
    {
        long z = firstFrame.Shape[1], plane = firstFrame.Shape[3] * firstFrame.Shape[4];
        long frames = latents.LongLength / (z * plane);
        for (long c = 0; c < z; c++)
            Array.Copy(firstFrame.Floats, c * plane, latents, c * frames * plane, plane);
    }
}
