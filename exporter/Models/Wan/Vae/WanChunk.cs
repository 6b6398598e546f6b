namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>
/// Which part of diffusers' chunked encode/decode a traced graph reproduces. diffusers runs the decoder one latent
/// frame at a time (the encoder: one frame, then chunks of 4) with a feature cache per causal layer; the first
/// chunk differs (no past frames, upsample3d skips its time_conv, DupUp3D drops its leading frames).
/// </summary>
public enum WanChunk
{
    /// <summary>The whole sequence in one graph, with the first-chunk rules applied to frame 0 (no cache ports).</summary>
    Full,
    /// <summary>The first chunk: zero past frames; every cache is a graph output (<c>cache_out.*</c>).</summary>
    First,
    /// <summary>A later chunk: every cache is a graph input (<c>cache.*</c>) and its update a graph output.</summary>
    Next,
}
