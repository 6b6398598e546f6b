using VisualGen.Pipelines;
using VisualGen.Pipelines.Images;
using VisualGen.Tensors;

namespace VisualGen.Tests.Pipelines;

/// <summary>The check every conditioning image passes (no checkpoint needed): float32 [height, width, 3], values in [0, 1].</summary>
public class VaeInputTests
{
    [Fact]
    public void Only_float32_images_with_values_in_0_1_pass()
    {
        VaeInput.Check(HostTensor.Float32([0f, 0.5f, 1f, 1f, 0f, 0.25f], 1, 2, 3));
        foreach (var (bad, message) in new[]
        {
            (1.0000001f, "pixel (0, 1) channel 1 is 1.0000001"),
            (-0.5f, "pixel (0, 1) channel 1 is -0.5"),
            (float.PositiveInfinity, "pixel (0, 1) channel 1 is Infinity"),
            (200f, "pixel (0, 1) channel 1 is 200 (8-bit values must be divided by 255)"),
        })
        {
            var e = Assert.Throws<GenerationException>(() => VaeInput.Check(HostTensor.Float32([0f, 0.5f, 1f, 1f, bad, 0.25f], 1, 2, 3), "mask_image", "mask_image"));
            Assert.Equal("mask_image", e.Parameter);
            Assert.StartsWith("mask_image must hold values in [0, 1]; " + message, e.Message);
        }
    }
}
