using VisualGen.Tensors;

namespace VisualGen.Pipelines.Images;

/// <summary>An image as the pipelines take it ([height, width, 3] float32 in [0, 1]) turned into what a VAE encoder takes:
/// [1, 3, height, width] in [−1, 1] (diffusers' image processors: to a tensor, then 2x − 1).</summary>
public static class VaeInput
{
    /// <summary>Refuses anything but a non-empty [height, width, 3] float32 image with values in [0, 1], naming the argument.</summary>
    public static void Check(HostTensor image, string what = "the image", string parameter = "image")
    {
        if (image.Rank != 3 || image.Shape[2] != 3 || image.DType != Checkpoints.TensorDType.F32)
            throw new GenerationException(parameter, $"{what} must be float32 [height, width, 3] in [0, 1], got {image.DType} {image.ShapeText}");
        if (image.Shape[0] < 1 || image.Shape[1] < 1)
            throw new GenerationException(parameter, $"{what} is empty ({image.ShapeText}); it needs at least one pixel");
        // a NaN made every output value NaN, 8-bit values (0-255) an image of saturated noise, without a word
        var values = image.Floats;
        for (long i = 0; i < values.LongLength; i++)
            if (!(values[i] >= 0f && values[i] <= 1f))
                throw new GenerationException(parameter, $"{what} must hold values in [0, 1]; pixel ({i / 3 / image.Shape[1]}, {i / 3 % image.Shape[1]}) " +
                    $"channel {i % 3} is {values[i].ToString(System.Globalization.CultureInfo.InvariantCulture)}" + (values[i] > 1f && float.IsFinite(values[i]) ? " (8-bit values must be divided by 255)" : ""));
    }

    /// <summary>[1, 3, height, width] in [−1, 1] from a [height, width, 3] image in [0, 1].</summary>
    public static HostTensor FromImage(HostTensor image)
    {
        int h = (int)image.Shape[0], w = (int)image.Shape[1];
        var hwc = image.Floats;
        var chw = new float[3 * h * w];
        for (long p = 0; p < (long)h * w; p++)
            for (int c = 0; c < 3; c++)
                chw[c * (long)h * w + p] = 2f * hwc[p * 3 + c] - 1f;
        return HostTensor.Float32(chw, 1, 3, h, w);
    }

    /// <summary>The [height, width, 3] window of <paramref name="image"/> at (<paramref name="top"/>, <paramref name="left"/>).</summary>
    public static HostTensor Crop(HostTensor image, int top, int left, int height, int width)
    {
        int w0 = (int)image.Shape[1];
        var src = image.Floats;
        var dst = new float[height * width * 3];
        for (int y = 0; y < height; y++)
            Array.Copy(src, ((long)(top + y) * w0 + left) * 3, dst, (long)y * width * 3, width * 3);
        return HostTensor.Float32(dst, height, width, 3);
    }
}
