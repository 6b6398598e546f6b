using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>diffusers' WanResample modes.</summary>
public enum WanResampleMode { Upsample2d, Upsample3d, Downsample2d, Downsample3d }

/// <summary>
/// diffusers' WanResample. Upsampling: ×2 nearest in space then a 3×3 conv, and for upsample3d first a causal
/// time_conv doubling the channels, interleaved into 2× frames — except in the first chunk, where diffusers stores
/// "Rep" and skips it (the first frame is not upsampled in time; the next chunk's time_conv sees zero past frames).
/// Downsampling: zero pad right/bottom, 3×3 stride-2 conv, and for downsample3d a stride-2 time_conv over the
/// previous chunk's last frame and this chunk's frames (none in the first chunk).
/// </summary>
public sealed class WanResample : IWanVaeLayer
{
    readonly int _dim;
    readonly WanResampleMode _mode;
    readonly Tensor _weight, _bias;
    readonly WanCausalConv3d? _timeConv;
    readonly string _path;

    public WanResample(Weights w, int dim, WanResampleMode mode, int? upsampleOutDim = null)
    {
        _dim = dim;
        _mode = mode;
        _path = w.Path("time_conv");
        int outDim = mode is WanResampleMode.Upsample2d or WanResampleMode.Upsample3d ? upsampleOutDim ?? dim / 2 : dim;
        _weight = w.Get("resample.1.weight", [outDim, dim, 3, 3]).Unsqueeze(2);
        _bias = w.Get("resample.1.bias", [outDim]);
        _timeConv = mode switch
        {
            WanResampleMode.Upsample3d => new WanCausalConv3d(w.Sub("time_conv"), dim, dim * 2, [3, 1, 1], null, [1, 0, 0]),
            WanResampleMode.Downsample3d => new WanCausalConv3d(w.Sub("time_conv"), dim, dim, [3, 1, 1], [2, 1, 1], [0, 0, 0]),
            _ => null,
        };
    }

    /// <summary>x: [B, C, T, H, W].</summary>
    public Tensor Forward(Tensor x, WanFeatureCache cache)
    {
        if (_mode == WanResampleMode.Upsample3d) x = TimeUpsample(x, cache);
        x = _mode switch
        {
            WanResampleMode.Upsample2d or WanResampleMode.Upsample3d =>
                Nearest2x(x).Conv(_weight, _bias, [1, 1, 1], [0, 1, 1, 0, 1, 1]),
            _ => x.Conv(_weight, _bias, [1, 2, 2], [0, 0, 0, 0, 1, 1]),   // ZeroPad2d((0, 1, 0, 1)) then stride 2
        };
        if (_mode == WanResampleMode.Downsample3d) x = TimeDownsample(x, cache);
        return x;
    }

    Tensor TimeUpsample(Tensor x, WanFeatureCache cache)
    {
        switch (cache.Chunk)
        {
            case WanChunk.First:
                cache.EmitZeros(x, _path, _dim, 2);
                return x;
            case WanChunk.Next:
                return Interleave(_timeConv!.Forward(x, cache));
            default:
                // frame 0 as the first chunk leaves it; the rest as later chunks with zero past frames before frame 1
                var first = x.Slice(2, 0, 1);
                var rest = _timeConv!.Forward(x.Slice(2, 1, long.MaxValue), null);
                return Tensor.Concat(2, first, Interleave(rest));
        }
    }

    /// <summary>[B, 2C, T, H, W] → [B, C, 2T, H, W], the two channel halves alternating in time.</summary>
    Tensor Interleave(Tensor y)
    {
        Dim b = y.Size(0), t = y.Size(2), h = y.Size(3), w = y.Size(4);
        return y.Reshape(b, 2, _dim, t, h, w).Transpose(0, 2, 3, 1, 4, 5).Reshape(b, _dim, t * 2, h, w);
    }

    Tensor TimeDownsample(Tensor x, WanFeatureCache cache)
    {
        var last = x.Slice(2, -1, long.MaxValue);
        switch (cache.Chunk)
        {
            case WanChunk.First:
                cache.Emit(last, _path, _dim, 1);
                cache.Advance();
                return x;
            case WanChunk.Next:
                var past = cache.Input(_path, _dim, 1);
                cache.Emit(last, _path, _dim, 1);
                cache.Advance();
                return _timeConv!.Conv(Tensor.Concat(2, past, x));
            default:
                // frame 0 kept as is; then stride-2 windows over frames (0,1,2), (2,3,4), ...
                return Tensor.Concat(2, x.Slice(2, 0, 1), _timeConv!.Conv(x));
        }
    }

    /// <summary>nearest-exact ×2 in H and W (for a factor of 2 every pixel is copied into a 2×2 block).</summary>
    static Tensor Nearest2x(Tensor x)
    {
        Dim b = x.Size(0), c = x.Size(1), t = x.Size(2), h = x.Size(3), w = x.Size(4);
        return x.Unsqueeze(4, 6).Expand(1, 1, 1, 1, 2, 1, 2).Reshape(b, c, t, h * 2, w * 2);
    }
}
