namespace VisualGen.Pipelines.Cosmos3;

/// <summary>
/// Cosmos3OmniTransformer's _patchify_and_pack_latents and _unpatchify_and_unpack_latents for one sample: latents
/// [C, T, H, W] (H and W zero-padded up to the patch size p) ↔ tokens [T·⌈H/p⌉·⌈W/p⌉, p·p·C], frame-major, each token's
/// features ordered (row in patch, column in patch, channel).
/// </summary>
public sealed record Cosmos3Patchify(int Channels, int Frames, int Height, int Width, int Patch)
{
    public int Rows => (Height + Patch - 1) / Patch;
    public int Columns => (Width + Patch - 1) / Patch;
    public int TokensPerFrame => Rows * Columns;
    public int Tokens => Frames * TokensPerFrame;
    public int Features => Patch * Patch * Channels;

    public float[] Pack(float[] latents)
    {
        var tokens = new float[(long)Tokens * Features];
        Walk((latent, token) => tokens[token] = latents[latent]);
        return tokens;
    }

    /// <summary>Tokens back to latents; padding is cropped.</summary>
    public float[] Unpack(float[] tokens)
    {
        var latents = new float[(long)Channels * Frames * Height * Width];
        Walk((latent, token) => latents[latent] = tokens[token]);
        return latents;
    }

    void Walk(Action<long, long> visit)
    {
        long plane = (long)Height * Width;
        for (int t = 0; t < Frames; t++)
            for (int r = 0; r < Rows; r++)
                for (int q = 0; q < Columns; q++)
                {
                    long token = ((long)t * TokensPerFrame + r * Columns + q) * Features;
                    for (int py = 0; py < Patch; py++)
                    {
                        int y = r * Patch + py;
                        if (y >= Height) continue;
                        for (int px = 0; px < Patch; px++)
                        {
                            int x = q * Patch + px;
                            if (x >= Width) continue;
                            long feature = token + (py * Patch + px) * (long)Channels;
                            for (int ch = 0; ch < Channels; ch++)
                                visit(((long)ch * Frames + t) * plane + (long)y * Width + x, feature + ch);
                        }
                    }
                }
    }
}
