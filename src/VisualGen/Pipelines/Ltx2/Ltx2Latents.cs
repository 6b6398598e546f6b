using VisualGen.Tensors;

namespace VisualGen.Pipelines.Ltx2;

/// <summary>
/// LTX2Pipeline's latent layouts. Video latents [B, C, F, H, W] are packed into patch tokens [B, F/pt·H/p·W/p, C·pt·p·p]
/// (token order frame, row, column; feature order channel, then the patch's t, y, x); audio latents [B, C, L, M] into
/// [B, L, C·M] (channel-major features). Video latents are normalized per channel with the video VAE's statistics,
/// audio latents per packed feature with the audio VAE's.
/// </summary>
public static class Ltx2Latents
{
    /// <summary>_pack_latents: [B, C, F, H, W] → [B, (F/pt)(H/p)(W/p), C·pt·p·p].</summary>
    public static HostTensor PackVideo(HostTensor latents, int p, int pt)
    {
        if (latents.Rank != 5) throw new ArgumentException($"video latents must be [batch, channels, frames, height, width], got {latents.ShapeText}", nameof(latents));
        long b = latents.Shape[0], c = latents.Shape[1], f = latents.Shape[2], h = latents.Shape[3], w = latents.Shape[4];
        long fp = f / pt, hp = h / p, wp = w / p;
        var dst = new float[latents.Floats.LongLength];
        Patchify(latents.Floats, dst, b, c, fp, hp, wp, p, pt, pack: true);
        return HostTensor.Float32(dst, b, fp * hp * wp, c * pt * p * p);
    }

    /// <summary>_unpack_latents: [B, F·H·W, C·pt·p·p] with F, H, W the patch grid → [B, C, F·pt, H·p, W·p].</summary>
    public static HostTensor UnpackVideo(HostTensor packed, long frames, long height, long width, int p, int pt)
    {
        long b = packed.Shape[0], features = packed.Shape[2], c = features / (pt * p * p);
        if (packed.Rank != 3 || packed.Shape[1] != frames * height * width || c * pt * p * p != features)
            throw new ArgumentException($"packed video latents {packed.ShapeText} do not hold a {frames}×{height}×{width} patch grid", nameof(packed));
        var dst = new float[packed.Floats.LongLength];
        Patchify(packed.Floats, dst, b, c, frames, height, width, p, pt, pack: false);
        return HostTensor.Float32(dst, b, c, frames * pt, height * p, width * p);
    }

    /// <summary>The one index map between [B, C, F·pt, H·p, W·p] and [B, F·H·W, C·pt·p·p] (F, H, W the patch grid),
    /// copied from video to tokens (<paramref name="pack"/>) or back.</summary>
    static void Patchify(float[] src, float[] dst, long b, long c, long fp, long hp, long wp, int p, int pt, bool pack)
    {
        long f = fp * pt, h = hp * p, w = wp * p, features = c * pt * p * p;
        for (long bi = 0; bi < b; bi++)
        for (long t = 0; t < fp; t++)
        for (long y = 0; y < hp; y++)
        for (long x = 0; x < wp; x++)
        {
            long token = (t * hp + y) * wp + x;
            long feature = 0;
            for (long ci = 0; ci < c; ci++)
            for (long dt = 0; dt < pt; dt++)
            for (long dy = 0; dy < p; dy++)
            for (long dx = 0; dx < p; dx++)
            {
                long video = (((bi * c + ci) * f + t * pt + dt) * h + y * p + dy) * w + x * p + dx;
                long tokens = (bi * fp * hp * wp + token) * features + feature++;
                if (pack) dst[tokens] = src[video];
                else dst[video] = src[tokens];
            }
        }
    }

    /// <summary>_pack_audio_latents (whole mel axis per token): [B, C, L, M] → [B, L, C·M].</summary>
    public static HostTensor PackAudio(HostTensor latents)
    {
        if (latents.Rank != 4) throw new ArgumentException($"audio latents must be [batch, channels, length, mel_bins], got {latents.ShapeText}", nameof(latents));
        long b = latents.Shape[0], c = latents.Shape[1], l = latents.Shape[2], m = latents.Shape[3];
        return HostTensor.Float32(SwapMiddleAxes(latents.Floats, b, c, l, m), b, l, c * m);
    }

    /// <summary>_unpack_audio_latents: [B, L, C·M] → [B, C, L, M].</summary>
    public static HostTensor UnpackAudio(HostTensor packed, long melBins)
    {
        long b = packed.Shape[0], l = packed.Shape[1], c = packed.Shape[2] / melBins;
        if (packed.Rank != 3 || c * melBins != packed.Shape[2])
            throw new ArgumentException($"packed audio latents {packed.ShapeText} do not hold {melBins} mel bins per channel", nameof(packed));
        return HostTensor.Float32(SwapMiddleAxes(packed.Floats, b, l, c, melBins), b, c, l, melBins);
    }

    /// <summary>[B, D1, D2, inner] → [B, D2, D1, inner]: audio packing (channels and length swap) and its inverse.</summary>
    static float[] SwapMiddleAxes(float[] src, long b, long d1, long d2, long inner)
    {
        var dst = new float[src.LongLength];
        for (long bi = 0; bi < b; bi++)
        for (long i = 0; i < d1; i++)
        for (long j = 0; j < d2; j++)
            Array.Copy(src, ((bi * d1 + i) * d2 + j) * inner, dst, ((bi * d2 + j) * d1 + i) * inner, inner);
        return dst;
    }

    /// <summary>(x − mean) / std over the last axis (the audio VAE's statistics on packed audio latents).</summary>
    public static HostTensor NormalizeLastAxis(HostTensor x, float[] mean, float[] std) => MapLastAxis(x, mean, std, (v, m, s) => (v - m) / s);

    /// <summary>x · std + mean over the last axis.</summary>
    public static HostTensor DenormalizeLastAxis(HostTensor x, float[] mean, float[] std) => MapLastAxis(x, mean, std, (v, m, s) => v * s + m);

    static HostTensor MapLastAxis(HostTensor x, float[] mean, float[] std, Func<float, float, float, float> f)
    {
        long d = x.Shape[^1];
        if (mean.Length != d || std.Length != d)
            throw new ArgumentException($"latents {x.ShapeText} have {d} features; the statistics have {mean.Length} means and {std.Length} stds");
        var src = x.Floats;
        var dst = new float[src.LongLength];
        for (long i = 0; i < src.LongLength; i++) dst[i] = f(src[i], mean[i % d], std[i % d]);
        return HostTensor.Float32(dst, x.Shape);
    }

    /// <summary>_normalize_latents: (x − mean)·scaling_factor / std per channel of [B, C, F, H, W].</summary>
    public static HostTensor NormalizeVideo(HostTensor x, float[] mean, float[] std, float scalingFactor) =>
        MapChannels(x, mean, std, (v, m, s) => (v - m) * scalingFactor / s);

    /// <summary>_denormalize_latents: x·std / scaling_factor + mean per channel of [B, C, F, H, W].</summary>
    public static HostTensor DenormalizeVideo(HostTensor x, float[] mean, float[] std, float scalingFactor) =>
        MapChannels(x, mean, std, (v, m, s) => v * s / scalingFactor + m);

    static HostTensor MapChannels(HostTensor x, float[] mean, float[] std, Func<float, float, float, float> f)
    {
        long c = x.Shape[1], inner = x.Shape.Skip(2).Aggregate(1L, (a, b) => a * b);
        if (mean.Length != c || std.Length != c)
            throw new ArgumentException($"latents {x.ShapeText} have {c} channels; the statistics have {mean.Length} means and {std.Length} stds");
        var src = x.Floats;
        var dst = new float[src.LongLength];
        for (long i = 0; i < src.LongLength; i++) { long ci = i / inner % c; dst[i] = f(src[i], mean[ci], std[ci]); }
        return HostTensor.Float32(dst, x.Shape);
    }

    /// <summary>
    /// prepare_video_coords: each patch's [start, end) in pixel space per axis (frame, row, column), [B, 3, N, 2]: latent
    /// positions times the VAE scale factors; the frame axis shifted by causal_offset − scale_factors[0], clamped at 0 and
    /// divided by the frame rate (seconds). Computed in float32 as diffusers does.
    /// </summary>
    public static HostTensor VideoCoords(int batch, int frames, int height, int width, int patchSize, int patchSizeT,
        IReadOnlyList<int> scaleFactors, int causalOffset, float fps)
    {
        int nf = (frames + patchSizeT - 1) / patchSizeT, nh = (height + patchSize - 1) / patchSize, nw = (width + patchSize - 1) / patchSize;
        long n = (long)nf * nh * nw;
        var one = new float[3 * n * 2];
        for (int t = 0; t < nf; t++)
        for (int y = 0; y < nh; y++)
        for (int x = 0; x < nw; x++)
        {
            long token = ((long)t * nh + y) * nw + x;
            float[] start = [t * patchSizeT, y * patchSize, x * patchSize];
            float[] size = [patchSizeT, patchSize, patchSize];
            for (int axis = 0; axis < 3; axis++)
            for (int e = 0; e < 2; e++)
            {
                float v = (start[axis] + e * size[axis]) * scaleFactors[axis];
                if (axis == 0) v = MathF.Max(v + causalOffset - scaleFactors[0], 0f) / fps;
                one[(axis * n + token) * 2 + e] = v;
            }
        }
        return HostTensor.Float32(Repeat(one, batch), batch, 3, n, 2);
    }

    /// <summary>
    /// prepare_audio_coords: each latent frame's [start, end) in seconds, [B, 1, L, 2]: mel frame index = latent index ·
    /// scale factor + causal_offset − scale factor (clamped at 0), times hop_length / sampling_rate (float32).
    /// </summary>
    public static HostTensor AudioCoords(int batch, int frames, int patchSizeT, int scaleFactor, int causalOffset, int hopLength, int samplingRate)
    {
        int n = (frames + patchSizeT - 1) / patchSizeT;
        var one = new float[n * 2];
        for (int i = 0; i < n; i++)
        {
            float f = i * patchSizeT;
            float Seconds(float latent) => MathF.Max(latent * scaleFactor + causalOffset - scaleFactor, 0f) * hopLength / samplingRate;
            one[i * 2] = Seconds(f);
            one[i * 2 + 1] = Seconds(f + patchSizeT);
        }
        return HostTensor.Float32(Repeat(one, batch), batch, 1, n, 2);
    }

    static float[] Repeat(float[] one, int times)
    {
        var all = new float[one.LongLength * times];
        for (int i = 0; i < times; i++) Array.Copy(one, 0, all, one.LongLength * i, one.LongLength);
        return all;
    }
}
