using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>A layer of the Wan VAE's block lists that takes the feature cache (diffusers' layer(x, feat_cache, feat_idx)).</summary>
public interface IWanVaeLayer
{
    Tensor Forward(Tensor x, WanFeatureCache cache);
}
