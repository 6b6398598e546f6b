using System.Text.Json;
using VisualGen.Pipelines.Images;
using VisualGen.Tensors;

namespace VisualGen.Tests.Pipelines;

/// <summary>Cosmos3's conditioning-image preprocessing (<see cref="CoverResize"/>) against diffusers'
/// <c>_preprocess_conditioning_image</c> run by PyTorch (Data/cover_resize.json, written on the GPU machine by
/// tools/device/cover_resize_golden.py from the same pseudo-random images).</summary>
public class CoverResizeTests
{
    static HostTensor LcgImage(int h, int w, long seed) => Support.Fixtures.LcgImage(h, w, seed);

    [Fact]
    public void Resize_and_crop_match_diffusers_to_the_8_bit_level()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Pipelines", "Data", "cover_resize.json")));
        var cases = doc.RootElement.GetProperty("cases");
        Assert.Equal(5, cases.GetArrayLength());
        foreach (var c in cases.EnumerateArray())
        {
            int[] src = [.. c.GetProperty("source").EnumerateArray().Select(e => e.GetInt32())];
            int[] dst = [.. c.GetProperty("target").EnumerateArray().Select(e => e.GetInt32())];
            int[] want = [.. c.GetProperty("levels_hwc").EnumerateArray().Select(e => e.GetInt32())];
            var got = CoverResize.ResizeAndCrop(LcgImage(src[0], src[1], c.GetProperty("seed").GetInt64()), dst[0], dst[1]);
            Assert.Equal(new long[] { dst[0], dst[1], 3 }, got.Shape);
            int off = 0, worst = 0;
            for (int i = 0; i < want.Length; i++)
            {
                int level = (int)Math.Clamp(MathF.Round(got.Floats[i]), 0f, 255f);
                int d = Math.Abs(level - want[i]);
                if (d > 0) off++;
                worst = Math.Max(worst, d);
            }
            // float32 sums in another order than ATen's can land a value on the other side of a .5: one level, rarely
            Assert.True(worst <= 1 && off <= want.Length / 200,
                $"{src[0]}x{src[1]} -> {dst[0]}x{dst[1]}: {off} of {want.Length} values differ, by up to {worst} levels");
        }
    }

    [Fact]
    public void An_image_of_the_target_size_passes_through_and_a_flat_image_stays_flat()
    {
        var image = LcgImage(8, 12, 3);
        Assert.Same(image, CoverResize.ResizeAndCrop(image, 8, 12));
        var flat = HostTensor.Float32(Enumerable.Repeat(77f, 30 * 50 * 3).ToArray(), 30, 50, 3);
        var resized = CoverResize.ResizeAndCrop(flat, 16, 16);
        Assert.All(resized.Floats, v => Assert.Equal(77f, v, 3));
    }
}
