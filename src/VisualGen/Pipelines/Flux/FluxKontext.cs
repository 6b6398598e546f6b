using VisualGen.Engines;
using VisualGen.Pipelines.Images;
using VisualGen.Pipelines.Vae;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Flux;

/// <summary>
/// diffusers' FluxKontextPipeline (FLUX.1 Kontext: image editing) where it differs from FluxPipeline:
/// <list type="bullet">
/// <item>the output size: height and width (default 1024) fitted to <c>max_area</c> (default 1024²) at their aspect ratio,
///   rounded, then floored to multiples of 16, as __call__ adjusts them (diffusers warns; the size made is the adjusted one);</item>
/// <item>the image: its size floored to multiples of 16, then the preferred Kontext resolution nearest its aspect ratio
///   (PREFERRED_KONTEXT_RESOLUTIONS, _auto_resize), resized to it (LANCZOS, in float) and scaled to [−1, 1];</item>
/// <item>prepare_latents: the VAE encoder's mean, (x − shift_factor)·scaling_factor, 2×2 packed into tokens with
///   position ids (1, row, column): the latents' ids with the first coordinate 1. The transformer reads them after the
///   latents' tokens at every step and only the latents' part of its prediction is used.</item>
/// </list>
/// </summary>
public static class FluxKontext
{
    public const string ClassName = "FluxKontextPipeline";
    public const long DefaultMaxArea = 1024L * 1024;

    /// <summary>PREFERRED_KONTEXT_RESOLUTIONS as (width, height).</summary>
    public static readonly (int Width, int Height)[] PreferredResolutions =
    [
        (672, 1568), (688, 1504), (720, 1456), (752, 1392), (800, 1328), (832, 1248), (880, 1184), (944, 1104), (1024, 1024),
        (1104, 944), (1184, 880), (1248, 832), (1328, 800), (1392, 752), (1456, 720), (1504, 688), (1568, 672),
    ];

    /// <summary>__call__'s size adjustment: width = round(√(max_area·ar)), height = round(√(max_area/ar)) with
    /// ar = width/height (Python's round: half to even), each floored to a multiple of <paramref name="multiple"/>.</summary>
    public static (int Height, int Width) OutputSize(int height, int width, long maxArea, int multiple)
    {
        double aspect = (double)width / height;
        int w = (int)Math.Round(Math.Sqrt(maxArea * aspect), MidpointRounding.ToEven);
        int h = (int)Math.Round(Math.Sqrt(maxArea / aspect), MidpointRounding.ToEven);
        return (h / multiple * multiple, w / multiple * multiple);
    }

    /// <summary>The size the image is resized to: get_default_height_width's floor to multiples of 16, then the
    /// preferred resolution minimizing (|ar − w/h|, w, h) as Python's min over tuples does.</summary>
    public static (int Height, int Width) ImageSize(int height, int width, int multiple)
    {
        int h = height - height % multiple, w = width - width % multiple;
        if (h <= 0 || w <= 0)
            throw new GenerationException("image", $"the image is {width}×{height}; FLUX.1 Kontext needs both sides at least {multiple} pixels");
        double aspect = (double)w / h;
        var best = PreferredResolutions.Select(p => (Diff: Math.Abs(aspect - (double)p.Width / p.Height), p.Width, p.Height))
            .Min();
        return (best.Height / multiple * multiple, best.Width / multiple * multiple);
    }

    /// <summary>The image as the VAE encoder takes it: [1, 3, h, w] in [−1, 1] at <see cref="ImageSize"/>.</summary>
    public static HostTensor Preprocess(HostTensor image, int multiple)
    {
        VaeInput.Check(image);
        var (h, w) = ImageSize((int)image.Shape[0], (int)image.Shape[1], multiple);
        return VaeInput.FromImage(SeparableResize.Lanczos(image, h, w));
    }

    /// <summary>_encode_vae_image and the packing of prepare_latents: the tokens [1, (h/2)·(w/2), 4C] and their ids
    /// [(h/2)·(w/2), 3] with first coordinate 1.</summary>
    public static (HostTensor Tokens, HostTensor Ids) Encode(IEngine vaeEncoder, AutoencoderKLConfig vae, HostTensor preprocessed, CancellationToken ct = default)
    {
        var mean = AutoencoderKLEncoder.Mean(vaeEncoder, preprocessed, ct);
        var scaled = vae.ToLatents(mean);
        var ids = FluxLatents.ImageIds(mean.Shape[2] / 2, mean.Shape[3] / 2);
        var values = ids.Floats;
        for (long i = 0; i < ids.Shape[0]; i++) values[i * 3] = 1f;
        return (LatentPacking.Pack(scaled), ids);
    }
}
