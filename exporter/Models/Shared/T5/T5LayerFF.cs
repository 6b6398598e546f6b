using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.T5;

/// <summary>T5LayerFF: x + DenseReluDense(layer_norm(x)), where DenseReluDense is T5DenseGatedActDense
/// (wo(act(wi_0 x) · wi_1 x)) for "gated-*" configs and T5DenseActDense (wo(act(wi x))) otherwise.</summary>
public sealed class T5LayerFF
{
    readonly RmsNorm _layerNorm;
    readonly Linear? _wi, _wi0, _wi1;
    readonly Linear _wo;
    readonly Func<Tensor, Tensor> _act;

    public T5LayerFF(Weights w, T5Config c, string origin)
    {
        _layerNorm = new RmsNorm(w.Sub("layer_norm"), c.DModel, c.LayerNormEpsilon);
        var d = w.Sub("DenseReluDense");
        if (c.IsGatedAct)
        {
            _wi0 = new Linear(d.Sub("wi_0"), c.DModel, c.DFf, bias: false);
            _wi1 = new Linear(d.Sub("wi_1"), c.DModel, c.DFf, bias: false);
        }
        else _wi = new Linear(d.Sub("wi"), c.DModel, c.DFf, bias: false);
        _wo = new Linear(d.Sub("wo"), c.DFf, c.DModel, bias: false);
        _act = Activations.Get(c.Activation, origin);
    }

    public Tensor Forward(Tensor x)
    {
        var h = _layerNorm.Forward(x);
        h = _wi is not null ? _act(_wi.Forward(h)) : _act(_wi0!.Forward(h)) * _wi1!.Forward(h);
        return x + _wo.Forward(h);
    }
}
