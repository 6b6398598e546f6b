using VisualGen.Tensors;

namespace VisualGen.Pipelines.Images;

/// <summary>
/// Resize to cover, then center-crop: the image is scaled by max(width / w, height / h) (sizes rounded up), resampled
/// with PyTorch's antialiased bilinear interpolation (<c>F.interpolate(mode="bilinear", align_corners=False,
/// antialias=True)</c>: a triangle filter widened by the scale when shrinking, separable, the width first), and the
/// center height × width taken (offsets rounded half to even, as Python's round). Cosmos3's conditioning-image
/// preprocessing. Works on a [height, width, 3] float image in any value range; an image of the target size passes
/// through untouched.
/// </summary>
public static class CoverResize
{
    public static HostTensor ResizeAndCrop(HostTensor image, int height, int width)
    {
        if (image.Rank != 3 || image.Shape[2] != 3) throw new ArgumentException($"image must be [height, width, 3], got {image.ShapeText}", nameof(image));
        int h = (int)image.Shape[0], w = (int)image.Shape[1];
        if (h == height && w == width) return image;
        double scale = Math.Max((double)width / w, (double)height / h);
        int rh = (int)Math.Ceiling(scale * h), rw = (int)Math.Ceiling(scale * w);
        var horizontal = Pass(image.Floats, h, w, rw, horizontalAxis: true);
        var resized = Pass(horizontal, h, rw, rh, horizontalAxis: false);
        int top = (int)Math.Round((rh - height) / 2.0, MidpointRounding.ToEven);
        int left = (int)Math.Round((rw - width) / 2.0, MidpointRounding.ToEven);
        var dst = new float[height * width * 3];
        for (int y = 0; y < height; y++)
            Array.Copy(resized, ((top + y) * rw + left) * 3, dst, y * width * 3, width * 3);
        return HostTensor.Float32(dst, height, width, 3);
    }

    /// <summary>One axis of the antialiased bilinear resample (ATen's <c>_compute_indices_min_size_weights_aa</c> rule:
    /// support 1 widened by the input/output ratio when shrinking, window [trunc(center − support + 0.5), trunc(center +
    /// support + 0.5)), weights normalized to sum 1), in float32 like PyTorch on a float32 image.</summary>
    static float[] Pass(float[] src, int h, int w, int outSize, bool horizontalAxis)
    {
        int inSize = horizontalAxis ? w : h;
        if (outSize == inSize) return src;
        float scale = (float)inSize / outSize;
        float support = scale >= 1f ? scale : 1f, invScale = scale >= 1f ? 1f / scale : 1f;
        int lines = horizontalAxis ? h : w;
        var dst = new float[(horizontalAxis ? h * outSize : outSize * w) * 3];
        var weights = new float[(int)Math.Ceiling(support) * 2 + 2];
        for (int o = 0; o < outSize; o++)
        {
            float center = scale * (o + 0.5f);
            int lo = Math.Max((int)(center - support + 0.5f), 0);
            int count = Math.Min((int)(center + support + 0.5f), inSize) - lo;
            float total = 0f;
            for (int j = 0; j < count; j++)
            {
                float x = MathF.Abs((j + lo - center + 0.5f) * invScale);
                total += weights[j] = x < 1f ? 1f - x : 0f;
            }
            for (int j = 0; j < count; j++) weights[j] = total != 0f ? weights[j] / total : 0f;
            for (int line = 0; line < lines; line++)
                for (int c = 0; c < 3; c++)
                {
                    float acc = 0f;
                    for (int j = 0; j < count; j++)
                        acc += weights[j] * (horizontalAxis ? src[(line * w + lo + j) * 3 + c] : src[((lo + j) * w + line) * 3 + c]);
                    if (horizontalAxis) dst[(line * outSize + o) * 3 + c] = acc;
                    else dst[(o * w + line) * 3 + c] = acc;
                }
        }
        return dst;
    }
}
