using VisualGen.Engines;
using VisualGen.Schedulers;
using VisualGen.Tensors;

namespace VisualGen.Pipelines;

/// <summary>
/// What diffusers' inpainting pipelines of flow-matching models share (FluxInpaintPipeline, QwenImageInpaintPipeline),
/// on latents, noise and mask the family has packed alike: the loop starts from scale_noise of the image latents (or
/// from explicit latents, which are then the noise too, unscaled), and after every step the region the mask keeps
/// (<see cref="Images.InpaintMask"/>: 0) is set back to the image latents noised to the next step's sigma, or to the
/// image latents themselves after the last step, so only the masked region is generated.
/// </summary>
public sealed class Inpainting
{
    readonly float[] _image, _noise, _mask;
    readonly bool _given;

    /// <summary>A mask_image needs the image it marks, and must be an image itself.</summary>
    public static void Validate(GenerationRequest r)
    {
        if (r.MaskImage is not { } mask) return;
        if (r.Image is null)
            throw new GenerationException("mask_image", "mask_image marks where an image is repainted: give the image too (--image)");
        Images.VaeInput.Check(mask, "mask_image", "mask_image");
    }

    /// <param name="imageLatents">the image's latents (a sample of the encoder's distribution, as the family maps it)</param>
    /// <param name="noise">the noise drawn after it (<see cref="ImageToImage.Start"/>)</param>
    /// <param name="mask">1 where the image is repainted, 0 where it is kept</param>
    /// <param name="givenLatents">explicit latents, or null</param>
    public Inpainting(HostTensor imageLatents, HostTensor noise, HostTensor mask, HostTensor? givenLatents)
    {
        if (noise.Floats.Length != imageLatents.Floats.Length || mask.Floats.Length != imageLatents.Floats.Length)
            throw new ArgumentException($"image latents {imageLatents.ShapeText}, noise {noise.ShapeText} and mask {mask.ShapeText} must have one size");
        (_image, _noise, _mask, _given) = (imageLatents.Floats, givenLatents?.Floats ?? noise.Floats, mask.Floats, givenLatents is not null);
    }

    /// <summary>The mask as laid out: 1 where the image is repainted.</summary>
    public ReadOnlySpan<float> Mask => _mask;

    /// <summary>The loop's start: scale_noise of the image latents at <paramref name="sigma"/>, or the explicit latents.</summary>
    public float[] Start(float sigma) => _given ? (float[])_noise.Clone() : Noised(sigma);

    float[] Noised(float sigma) => ImageToImage.ScaleNoise(HostTensor.Float32(_image, _image.Length), _noise, sigma).Floats;

    /// <summary>After step <paramref name="step"/> of <paramref name="sigmas"/> (the schedule's, its final 0 included):
    /// the kept region back to the image latents at the next sigma (float32 scale_noise), or to them after the last step.</summary>
    public void KeepUnmasked(int step, IReadOnlyList<double> sigmas, Span<float> latents)
    {
        var proper = step == sigmas.Count - 2 ? _image : Noised((float)sigmas[step + 1]);
        Images.InpaintMask.Blend(latents, _mask, proper);
    }

    /// <summary><see cref="KeepUnmasked"/> as <see cref="DenoisingLoop"/>'s after-step hook, on the host: the latents are
    /// read back, blended and written again (a megabyte a step for a 1024² image, beside the transformer's work).</summary>
    public Action<int, IEngineTensor> AfterStep(IScheduler scheduler, IResidentEngine engine, long[] shape) => (step, x) =>
    {
        var host = x.ToHost().Floats;
        KeepUnmasked(step, scheduler.Sigmas, host);
        using var blended = engine.Upload(HostTensor.Float32(host, shape));
        engine.Arithmetic.Copy(x, 0, blended, 0, host.LongLength);
    };
}
