using VisualGen.Tensors;

namespace VisualGen.Pipelines.Wan;

/// <summary>Frame-axis (axis 2) slicing and concatenation of [B, C, F, H, W] host tensors, for chunked VAE runs.</summary>
public static class VideoFrames
{
    public static void CheckVideo(HostTensor t, string what)
    {
        if (t.Rank != 5) throw new ArgumentException($"{what} must be [batch, channels, frames, height, width]; got {t.ShapeText}", what);
    }

    /// <summary>Frames [start, start + count) of <paramref name="t"/>.</summary>
    public static HostTensor Slice(HostTensor t, long start, long count)
    {
        CheckVideo(t, nameof(t));
        long b = t.Shape[0], c = t.Shape[1], f = t.Shape[2], plane = t.Shape[3] * t.Shape[4];
        if (start < 0 || count < 1 || start + count > f)
            throw new ArgumentOutOfRangeException(nameof(start), $"frames [{start}, {start + count}) are outside the {f} frames of {t.ShapeText}");
        var src = t.Floats;
        var dst = new float[b * c * count * plane];
        for (long bc = 0; bc < b * c; bc++)
            Array.Copy(src, (bc * f + start) * plane, dst, bc * count * plane, count * plane);
        return HostTensor.Float32(dst, b, c, count, t.Shape[3], t.Shape[4]);
    }

    /// <summary>Concatenates along frames; every part must agree on the other axes.</summary>
    public static HostTensor Concat(IReadOnlyList<HostTensor> parts)
    {
        if (parts.Count == 0) throw new ArgumentException("no frames to concatenate", nameof(parts));
        var first = parts[0];
        CheckVideo(first, nameof(parts));
        foreach (var p in parts)
        {
            CheckVideo(p, nameof(parts));
            if (p.Shape[0] != first.Shape[0] || p.Shape[1] != first.Shape[1] || p.Shape[3] != first.Shape[3] || p.Shape[4] != first.Shape[4])
                throw new ArgumentException($"cannot concatenate frames of {p.ShapeText} to {first.ShapeText}", nameof(parts));
        }
        long b = first.Shape[0], c = first.Shape[1], plane = first.Shape[3] * first.Shape[4];
        long f = parts.Sum(p => p.Shape[2]);
        var dst = new float[b * c * f * plane];
        for (long bc = 0; bc < b * c; bc++)
        {
            long offset = 0;
            foreach (var p in parts)
            {
                long n = p.Shape[2] * plane;
                Array.Copy(p.Floats, bc * n, dst, (bc * f) * plane + offset, n);
                offset += n;
            }
        }
        return HostTensor.Float32(dst, b, c, f, first.Shape[3], first.Shape[4]);
    }
}
