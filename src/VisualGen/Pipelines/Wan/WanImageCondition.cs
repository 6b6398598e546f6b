using VisualGen.Engines;
using VisualGen.Pipelines.Images;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Wan;

/// <summary>
/// WanImageToVideoPipeline's conditioning: CLIP image tokens (hidden_states[−2]) for the cross-attention's added
/// K/V, and the channel condition = [first-frame mask (4 channels), normalized VAE mode of [image, zeros…]].
/// </summary>
public static class WanImageCondition
{
    /// <summary>CLIP vision tokens of the image: [1, tokens, dim].</summary>
    public static HostTensor ImageEmbeds(IEngine imageEncoder, ClipImageProcessor processor, HostTensor image, CancellationToken ct = default) =>
        imageEncoder.Run(new Dictionary<string, HostTensor> { ["pixel_values"] = processor.Process(image) }, ct)["hidden_state"];

    /// <summary>
    /// Wan 2.2 TI2V's first-frame condition (WanImageToVideoPipeline with expand_timesteps: the image alone as a one-frame
    /// video, VAE-encoded (mode) and normalized): [1, z, 1, h, w]. The denoiser reads it in place of the latents' first
    /// frame at every step, with timestep 0 on that frame's tokens, and it replaces the first frame of the final latents.
    /// </summary>
    public static HostTensor FirstFrame(WanVaeEncoder encoder, WanLatentStats stats, HostTensor image, int height, int width, CancellationToken ct)
    {
        var frame = VaeInput.FromImage(SeparableResize.Lanczos(image, height, width));  // [1, 3, H, W]: a one-frame video's layout
        return stats.Normalize(encoder.Encode(frame.Reshape(1, 3, 1, height, width), ct));
    }

    /// <summary>The [1, 4 + z, latent_frames, h, w] condition for a [height, width, 3] image in [0, 1]; with
    /// <paramref name="tiling"/> (<c>vae_tiling</c>) a video larger than one tile is encoded tile by tile, as diffusers'
    /// <c>tiled_encode</c> after <c>enable_tiling()</c>. With <paramref name="lastImage"/> the video's last frame is it
    /// and the mask marks it too (<see cref="Mask"/>).</summary>
    public static HostTensor Condition(WanVaeEncoder encoder, WanLatentStats stats, HostTensor image, int frames, int height, int width,
        CancellationToken ct, Vae.CausalVaeTiling? tiling = null, HostTensor? lastImage = null)
    {
        long plane = (long)height * width;
        var video = new float[3 * frames * plane]; // [1, 3, frames, H, W]: frame 0 the image in [−1, 1], the last the last image, the rest zeros
        void Put(HostTensor picture, int frame)
        {
            var chw = VaeInput.FromImage(SeparableResize.Lanczos(picture, height, width)).Floats;
            for (int c = 0; c < 3; c++) Array.Copy(chw, c * plane, video, (c * frames + frame) * plane, plane);
        }
        Put(image, 0);
        if (lastImage is not null) Put(lastImage, frames - 1);
        var pixels = HostTensor.Float32(video, 1, 3, frames, height, width);
        var mean = tiling is not null && tiling.AppliesToVideo(pixels)
            ? tiling.TiledEncode(pixels, tile => encoder.Encode(tile, ct), cancellationToken: ct)
            : encoder.Encode(pixels, ct);
        var latent = stats.Normalize(mean);
        long z = latent.Shape[1], lf = latent.Shape[2], lh = latent.Shape[3], lw = latent.Shape[4];
        long framePlane = lh * lw, perChannel = lf * framePlane;
        var cond = new float[(4 + z) * perChannel];
        var mask = Mask(frames, (int)lf, lastImage is not null);
        for (int c = 0; c < 4; c++)
            for (int k = 0; k < lf; k++)
                if (mask[c, k]) Array.Fill(cond, 1f, (int)(c * perChannel + k * framePlane), (int)framePlane);
        Array.Copy(latent.Floats, 0, cond, 4 * perChannel, z * perChannel);
        return HostTensor.Float32(cond, 1, 4 + z, lf, lh, lw);
    }

    /// <summary>
    /// prepare_latents' mask_lat_size as [4 channels, latent frames]: the given pixel frames (the first; the last too with a
    /// last image) with the first repeated four times in front (the VAE's temporal factor), read four at a time, so latent
    /// frame k's channel c is element 4k + c of that sequence. A last frame marks channel 3 of the last latent frame only.
    /// </summary>
    public static bool[,] Mask(int frames, int latentFrames, bool lastGiven)
    {
        var sequence = new bool[frames + 3];
        for (int i = 0; i < 4; i++) sequence[i] = true;   // frame 0, four times
        if (lastGiven) sequence[frames + 2] = true;        // frame frames − 1
        var mask = new bool[4, latentFrames];
        for (int k = 0; k < latentFrames; k++)
            for (int c = 0; c < 4; c++) mask[c, k] = sequence[4 * k + c];
        return mask;
    }
}
