using VisualGen.Tensors;

namespace VisualGen.Pipelines;

/// <summary>diffusers' VaeImageProcessor.postprocess(output_type="np"): [B, 3, H, W] in [−1, 1] → [B, H, W, 3] as
/// (x/2 + 0.5) clamped to [0, 1].</summary>
public static class ImagePostprocess
{
    public static HostTensor ToNumpyLayout(HostTensor image)
    {
        if (image.Rank != 4 || image.Shape[1] != 3) throw new ArgumentException($"expected a [B, 3, H, W] image, got {image.ShapeText}", nameof(image));
        long b = image.Shape[0], h = image.Shape[2], w = image.Shape[3], plane = h * w;
        var src = image.Floats;
        var dst = new float[src.Length];
        for (long bi = 0; bi < b; bi++)
            for (long p = 0; p < plane; p++)
                for (long c = 0; c < 3; c++)
                    dst[(bi * plane + p) * 3 + c] = Math.Clamp(src[(bi * 3 + c) * plane + p] / 2 + 0.5f, 0f, 1f);
        return HostTensor.Float32(dst, b, h, w, 3);
    }
}
