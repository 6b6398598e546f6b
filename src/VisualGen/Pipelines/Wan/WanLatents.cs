namespace VisualGen.Pipelines.Wan;

/// <summary>Wan latent shapes (normalization is <see cref="WanLatentStats"/>).</summary>
public static class WanLatents
{
    /// <summary>[batch, channels, (frames−1)/temporal + 1, height/spatial, width/spatial].</summary>
    public static long[] Shape(WanModelConfig c, int batch, int frames, int height, int width) =>
        [batch, c.LatentChannels, (frames - 1) / c.VaeScaleTemporal + 1, height / c.VaeScaleSpatial, width / c.VaeScaleSpatial];
}
