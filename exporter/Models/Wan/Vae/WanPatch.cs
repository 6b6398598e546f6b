using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>diffusers' patchify / unpatchify of autoencoder_kl_wan (Wan 2.2's VAE folds p×p pixels into
/// channels, channel index c·p² + pw·p + ph).</summary>
public static class WanPatch
{
    /// <summary>[B, C, F, H, W] → [B, C·p², F, H/p, W/p].</summary>
    public static Tensor Patchify(Tensor x, int channels, int p)
    {
        Dim b = x.Size(0), f = x.Size(2), h = x.Size(3) / p, w = x.Size(4) / p;
        return x.Reshape(b, channels, f, h, p, w, p).Transpose(0, 1, 6, 4, 2, 3, 5).Reshape(b, channels * p * p, f, h, w);
    }

    /// <summary>[B, C·p², F, H, W] → [B, C, F, H·p, W·p].</summary>
    public static Tensor Unpatchify(Tensor x, int channels, int p)
    {
        Dim b = x.Size(0), f = x.Size(2), h = x.Size(3), w = x.Size(4);
        return x.Reshape(b, channels, p, p, f, h, w).Transpose(0, 1, 4, 5, 3, 6, 2).Reshape(b, channels, f, h * p, w * p);
    }
}
