using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>
/// diffusers' WanCausalConv3d: a Conv3d padded symmetrically in space and by 2·pad frames on the past side only,
/// so frame t sees frames ≤ t. With a feature cache the past frames are the previous chunk's last frames instead
/// of zeros (see <see cref="WanFeatureCache"/>).
/// </summary>
public sealed class WanCausalConv3d
{
    readonly Tensor _weight, _bias;
    readonly int _inChannels;
    readonly long[] _kernel, _stride, _padding;
    readonly string _path;

    public WanCausalConv3d(Weights w, int inChannels, int outChannels, long[] kernel, long[]? stride = null, long[]? padding = null)
    {
        _inChannels = inChannels;
        _kernel = kernel;
        _stride = stride ?? [1, 1, 1];
        _padding = padding ?? [0, 0, 0];
        _weight = w.Get("weight", [outChannels, inChannels, kernel[0], kernel[1], kernel[2]]);
        _bias = w.Get("bias", [outChannels]);
        _path = w.Path("").TrimEnd('.');
    }

    public WanCausalConv3d(Weights w, int inChannels, int outChannels, int kernel, int padding = 0)
        : this(w, inChannels, outChannels, [kernel, kernel, kernel], null, [padding, padding, padding]) { }

    /// <summary>Frames of causal (past-side) padding: 2 × the temporal padding.</summary>
    public int PastFrames => (int)(2 * _padding[0]);

    /// <summary>The convolution with causal padding taken from <paramref name="cache"/> (zeros in the first chunk);
    /// <paramref name="cache"/> null: plain zero padding and no cache ports (the layer takes no cache in diffusers).</summary>
    public Tensor Forward(Tensor x, WanFeatureCache? cache)
    {
        if (PastFrames > 0)
        {
            x = cache is null ? x.Pad([0, 0, PastFrames, 0, 0, 0, 0, 0, 0, 0]) : cache.WithPast(x, _path, _inChannels, PastFrames);
        }
        return Conv(x);
    }

    /// <summary>The convolution alone, on frames already padded in time by the caller.</summary>
    public Tensor Conv(Tensor x) =>
        x.Conv(_weight, _bias, _stride, [0, _padding[1], _padding[2], 0, _padding[1], _padding[2]]);
}
