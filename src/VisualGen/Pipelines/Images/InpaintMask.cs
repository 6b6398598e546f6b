using VisualGen.Tensors;

namespace VisualGen.Pipelines.Images;

/// <summary>
/// diffusers' inpainting mask (mask_image: white is repainted, black kept):
/// <list type="bullet">
/// <item>VaeImageProcessor(do_normalize=False, do_binarize=True, do_convert_grayscale=True).preprocess: resized to the
///   output size (LANCZOS; here in float, then rounded to 8 bits as PIL stores it), converted to PIL's "L"
///   ((19595·R + 38470·G + 7471·B + 2^15) >> 16 on 8-bit values), /255, then 0 below 0.5 and 1 from it;</item>
/// <item>prepare_mask_latents: torch's nearest interpolation to the latent grid, repeated over the latent channels and
///   laid out as the latents are;</item>
/// <item>after every step: latents = (1 − mask)·init_latents_proper + mask·latents, the proper latents being the image's
///   noised to the next step's sigma (scale_noise), or the image's own after the last step.</item>
/// </list>
/// </summary>
public static class InpaintMask
{
    /// <summary>The binarized mask at <paramref name="height"/>×<paramref name="width"/>: 1 where the image is repainted.</summary>
    public static float[] Binarize(HostTensor mask, int height, int width)
    {
        VaeInput.Check(mask, "mask_image", "mask_image");
        var rgb = SeparableResize.Lanczos(mask, height, width).Floats;
        var m = new float[height * width];
        for (int p = 0; p < m.Length; p++)
        {
            int r = Byte(rgb[3 * p]), g = Byte(rgb[3 * p + 1]), b = Byte(rgb[3 * p + 2]);
            int l = (19595 * r + 38470 * g + 7471 * b + (1 << 15)) >> 16;
            m[p] = l / 255f >= 0.5f ? 1f : 0f;
        }
        return m;
    }

    static int Byte(float x) => (int)Math.Clamp(MathF.Round(x * 255f, MidpointRounding.AwayFromZero), 0, 255);

    /// <summary>torch.nn.functional.interpolate(mode="nearest") of an <paramref name="h"/>×<paramref name="w"/> map:
    /// output index i reads ⌊i·(in/out)⌋ (the scale in float32), the last index at most.</summary>
    public static float[] Nearest(float[] map, int h, int w, int outH, int outW)
    {
        static int Source(int i, int input, int output) =>
            input == output ? i : output == 2 * input ? i >> 1 : Math.Min((int)MathF.Floor(i * ((float)input / output)), input - 1);
        var o = new float[outH * outW];
        for (int y = 0; y < outH; y++)
            for (int x = 0; x < outW; x++)
                o[y * outW + x] = map[Source(y, h, outH) * w + Source(x, w, outW)];
        return o;
    }

    /// <summary>The mask on the latent grid, repeated over <paramref name="channels"/>: [1, channels, gridH, gridW].</summary>
    public static HostTensor OnLatentGrid(HostTensor mask, int height, int width, int gridH, int gridW, int channels)
    {
        var grid = Nearest(Binarize(mask, height, width), height, width, gridH, gridW);
        var m = new float[channels * grid.Length];
        for (int c = 0; c < channels; c++) grid.CopyTo(m, c * grid.Length);
        return HostTensor.Float32(m, 1, channels, gridH, gridW);
    }

    /// <summary>latents = (1 − mask)·proper + mask·latents, in place (float32, as diffusers computes it).</summary>
    public static void Blend(Span<float> latents, ReadOnlySpan<float> mask, ReadOnlySpan<float> proper)
    {
        for (int i = 0; i < latents.Length; i++) latents[i] = (1f - mask[i]) * proper[i] + mask[i] * latents[i];
    }
}
