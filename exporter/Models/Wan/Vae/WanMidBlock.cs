using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>diffusers' WanMidBlock: resnets.0, then (attentions.i, resnets.i+1) pairs.</summary>
public sealed class WanMidBlock
{
    readonly WanResidualBlock[] _resnets;
    readonly WanAttentionBlock[] _attentions;

    public WanMidBlock(Weights w, int dim, int numLayers = 1)
    {
        _resnets = Enumerable.Range(0, numLayers + 1).Select(i => new WanResidualBlock(w.Sub($"resnets.{i}"), dim, dim)).ToArray();
        _attentions = Enumerable.Range(0, numLayers).Select(i => new WanAttentionBlock(w.Sub($"attentions.{i}"), dim)).ToArray();
    }

    public Tensor Forward(Tensor x, WanFeatureCache cache)
    {
        x = _resnets[0].Forward(x, cache);
        for (int i = 0; i < _attentions.Length; i++)
        {
            x = _attentions[i].Forward(x);
            x = _resnets[i + 1].Forward(x, cache);
        }
        return x;
    }
}
