using VisualGen.Tensors;

namespace VisualGen.Pipelines.Vae;

/// <summary>
/// One decoded tile of a tiled VAE decode: a host tensor whose last two axes are height and width (the leading axes,
/// [batch, channels] or [batch, channels, frames], flattened as planes). diffusers' blend_v / blend_h write into the
/// tile in place, as here: a tile blended into its neighbours is what its right and lower neighbours blend from.
/// </summary>
public sealed class SampleTile
{
    readonly float[] _data;

    public SampleTile(HostTensor decoded)
    {
        if (decoded.Rank < 3) throw new ArgumentException($"a decoded tile needs leading axes and [height, width]; got {decoded.ShapeText}", nameof(decoded));
        // a copy: blending writes into it, and the engine's output may be shared
        _data = (float[])decoded.Floats.Clone();
        Shape = decoded.Shape;
        Height = (int)Shape[^2];
        Width = (int)Shape[^1];
        Planes = decoded.ElementCount / ((long)Height * Width);
    }

    public long[] Shape { get; }
    public int Height { get; }
    public int Width { get; }
    public long Planes { get; }

    /// <summary>The first <paramref name="count"/> values of row <paramref name="y"/> of one plane.</summary>
    internal ReadOnlySpan<float> Row(long plane, int y, int count) => _data.AsSpan((int)((plane * Height + y) * Width), count);

    internal float this[long plane, int y, int x]
    {
        get => _data[(plane * Height + y) * Width + x];
        set => _data[(plane * Height + y) * Width + x] = value;
    }

    /// <summary>
    /// blend_v(a, this, extent): the first rows of this tile fade in from the last rows of <paramref name="above"/>,
    /// row y weighted (1 − y/e, y/e) in float32 as PyTorch multiplies a tensor by a Python float. Rows come in groups of
    /// <paramref name="group"/> pixels that share one weight (a patchified VAE blends in patch rows: the group is the
    /// patch size; <paramref name="extent"/> counts groups). e = min(above's groups, this tile's groups, extent).
    /// </summary>
    public void BlendFromAbove(SampleTile above, int extent, int group = 1)
    {
        CheckPlanes(above);
        int e = Math.Min(Math.Min(above.Height / group, Height / group), extent);
        int aboveGroups = above.Height / group;
        for (int y = 0; y < e; y++)
        {
            var (wa, wb) = Weights(y, e);
            for (int dy = 0; dy < group; dy++)
            {
                int rowB = y * group + dy, rowA = (aboveGroups - e + y) * group + dy;
                for (long p = 0; p < Planes; p++)
                    for (int x = 0; x < Width; x++)
                        this[p, rowB, x] = above[p, rowA, x] * wa + this[p, rowB, x] * wb;
            }
        }
    }

    /// <summary>blend_h(a, this, extent): the first columns fade in from the last columns of <paramref name="left"/>
    /// (see <see cref="BlendFromAbove"/> for the weights and groups).</summary>
    public void BlendFromLeft(SampleTile left, int extent, int group = 1)
    {
        CheckPlanes(left);
        int e = Math.Min(Math.Min(left.Width / group, Width / group), extent);
        int leftGroups = left.Width / group;
        for (int x = 0; x < e; x++)
        {
            var (wa, wb) = Weights(x, e);
            for (int dx = 0; dx < group; dx++)
            {
                int colB = x * group + dx, colA = (leftGroups - e + x) * group + dx;
                for (long p = 0; p < Planes; p++)
                    for (int y = 0; y < Height; y++)
                        this[p, y, colB] = left[p, y, colA] * wa + this[p, y, colB] * wb;
            }
        }
    }

    /// <summary>(1 − i/e, i/e) computed in double (Python floats) and applied in float32.</summary>
    static (float A, float B) Weights(int i, int e) => ((float)(1.0 - (double)i / e), (float)((double)i / e));

    void CheckPlanes(SampleTile other)
    {
        if (other.Planes != Planes)
            throw new ArgumentException($"tiles of {ShapeText(other.Shape)} and {ShapeText(Shape)} do not share their leading axes");
    }

    internal static string ShapeText(long[] shape) => "[" + string.Join(", ", shape) + "]";
}
