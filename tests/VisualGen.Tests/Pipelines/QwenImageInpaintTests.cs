using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Images;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Qwen-Image inpainting (a QwenImagePipeline checkpoint given an image and a mask_image, as diffusers'
/// QwenImageInpaintPipeline). Its loop is <see cref="Inpainting"/>'s, which FLUX.1's host-loop test checks step by step;
/// here the wiring on Qwen-Image's latents: an all-white mask repaints everything and equals image-to-image bit for bit
/// (same start, the blend keeps every value), an all-black one keeps the image's latents, and a half mask keeps exactly
/// those latents where it is black and generates the rest.
/// </summary>
public class QwenImageInpaintTests
{
    static HostTensor Mask(int h, int w, Func<int, bool> repaintColumn)
    {
        var x = new float[h * w * 3];
        for (int p = 0; p < h * w; p++)
            if (repaintColumn(p % w)) x[3 * p] = x[3 * p + 1] = x[3 * p + 2] = 1f;
        return HostTensor.Float32(x, h, w, 3);
    }

    [ConformanceFact]
    public void The_mask_repaints_its_white_region_and_keeps_the_image_latents_elsewhere()
    {
        using var golden = Fixtures.Golden("qwenimage");
        var request = ConformancePipelines.RequestFromGolden("qwenimage", golden) with
        {
            Image = Fixtures.RandomImage(50, 70, 41), Strength = 0.5, Latents = null, Seed = 6,
        };
        int height = request.Height!.Value, width = request.Width!.Value;
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("qwenimage"), provider);
        Assert.True(pipeline.Info.Takes(CallArguments.MaskImage));
        float[] Run(GenerationRequest r) => pipeline.GenerateAsync(r).GetAwaiter().GetResult().Latents.Floats;

        var imageToImage = Run(request);
        Assert.Equal(imageToImage, Run(request with { MaskImage = Mask(height, width, _ => true) }));
        var kept = Run(request with { MaskImage = Mask(height, width, _ => false) });
        Assert.NotEqual(imageToImage, kept);

        var half = Mask(height, width, x => x < width / 2);
        var final = Run(request with { MaskImage = half });
        var m = LatentPacking.Pack(InpaintMask.OnLatentGrid(half, height, width, height / 8, width / 8, (int)(final.Length / (height / 8 * (width / 8))))).Floats;
        Assert.Contains(0f, m);
        Assert.Contains(1f, m);
        Assert.All(Enumerable.Range(0, final.Length).Where(i => m[i] == 0), i => Assert.Equal(kept[i], final[i]));
        Assert.Contains(Enumerable.Range(0, final.Length), i => m[i] == 1 && Math.Abs(kept[i] - final[i]) > 1e-3);
    }
}
