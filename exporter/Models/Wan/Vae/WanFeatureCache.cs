using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>
/// The feature cache of diffusers' chunked Wan VAE as graph ports: the last frames each causal layer saw in the
/// previous chunk. In <see cref="WanChunk.Next"/> graphs they are inputs <c>cache.&lt;module path&gt;</c>; in
/// <see cref="WanChunk.First"/> and <see cref="WanChunk.Next"/> graphs their updates are outputs
/// <c>cache_out.&lt;module path&gt;</c>, which the runtime feeds back as the next chunk's inputs.
/// </summary>
public sealed class WanFeatureCache(Tracer tracer, WanChunk chunk)
{
    public const string InputPrefix = "cache.";
    public const string OutputPrefix = "cache_out.";

    public WanChunk Chunk { get; } = chunk;
    int _count;

    /// <summary>Prepends <paramref name="pastFrames"/> past frames to <paramref name="x"/> ([B, C, T, H, W]): the
    /// cache input in a Next graph, zeros otherwise (the causal padding of the first chunk). In chunked graphs the
    /// last <paramref name="pastFrames"/> frames of the result become the cache output.</summary>
    public Tensor WithPast(Tensor x, string path, int channels, int pastFrames)
    {
        Tensor joined;
        if (Chunk == WanChunk.Next)
        {
            int k = _count;
            var past = tracer.Input(InputPrefix + path, TensorDType.F32, "batch", channels.ToString(), pastFrames.ToString(), $"cache{k}_height", $"cache{k}_width");
            joined = Tensor.Concat(2, past, x);
        }
        else
        {
            joined = x.Pad([0, 0, pastFrames, 0, 0, 0, 0, 0, 0, 0]);
        }
        if (Chunk != WanChunk.Full) Emit(joined.Slice(2, -pastFrames, long.MaxValue), path, channels, pastFrames);
        _count++;
        return joined;
    }

    /// <summary>For layers whose first chunk keeps no past (upsample3d's time_conv, "Rep" in diffusers): the
    /// cache a Next graph will read, all zeros, shaped like <paramref name="like"/> with <paramref name="frames"/> frames.</summary>
    public void EmitZeros(Tensor like, string path, int channels, int frames)
    {
        if (Chunk != WanChunk.First) throw new InvalidOperationException("zero caches are emitted only by first-chunk graphs");
        var zeros = tracer.Scalar(0f).Expand(like.Size(0), channels, frames, like.Size(3), like.Size(4));
        Emit(zeros, path, channels, frames);
        _count++;
    }

    /// <summary>Emits <paramref name="value"/> as the cache output of <paramref name="path"/> (chunked graphs only).</summary>
    public void Emit(Tensor value, string path, int channels, int frames)
    {
        if (Chunk == WanChunk.Full) return;
        tracer.Output(value, OutputPrefix + path, "batch", channels.ToString(), frames.ToString(), $"cache{_count}_height", $"cache{_count}_width");
    }

    /// <summary>The cache input of <paramref name="path"/> (Next graphs only).</summary>
    public Tensor Input(string path, int channels, int frames)
    {
        if (Chunk != WanChunk.Next) throw new InvalidOperationException("cache inputs exist only in next-chunk graphs");
        return tracer.Input(InputPrefix + path, TensorDType.F32, "batch", channels.ToString(), frames.ToString(), $"cache{_count}_height", $"cache{_count}_width");
    }

    /// <summary>Counts a cache slot used through <see cref="Input"/>/<see cref="Emit"/> directly.</summary>
    public void Advance() => _count++;
}
