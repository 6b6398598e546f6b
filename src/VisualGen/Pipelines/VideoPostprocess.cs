using VisualGen.Tensors;

namespace VisualGen.Pipelines;

/// <summary>diffusers' VideoProcessor.postprocess_video(output_type="np"): [B, 3, F, H, W] in [−1, 1] →
/// [B, F, H, W, 3] as (x/2 + 0.5) clamped to [0, 1].</summary>
public static class VideoPostprocess
{
    public static HostTensor ToNumpyLayout(HostTensor video)
    {
        if (video.Rank != 5 || video.Shape[1] != 3) throw new ArgumentException($"expected a [B, 3, F, H, W] video, got {video.ShapeText}");
        long b = video.Shape[0], f = video.Shape[2], h = video.Shape[3], w = video.Shape[4];
        var src = video.Floats;
        var dst = new float[src.Length];
        long plane = h * w, chStride = f * plane;
        // one frame per task (an 81-frame 480×832 video is 97 M values): each value is computed as in a sequential loop
        Parallel.For(0L, b * f, frame =>
        {
            long bi = frame / f, fi = frame % f;
            long srcBase = bi * 3 * chStride + fi * plane, dstBase = frame * plane * 3;
            for (long c = 0; c < 3; c++)
            {
                long from = srcBase + c * chStride;
                for (long p = 0; p < plane; p++)
                    dst[dstBase + p * 3 + c] = Math.Clamp(src[from + p] / 2 + 0.5f, 0f, 1f);
            }
        });
        return HostTensor.Float32(dst, b, f, h, w, 3);
    }
}
