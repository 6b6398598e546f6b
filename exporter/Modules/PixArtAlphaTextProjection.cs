using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>diffusers' PixArtAlphaTextProjection: linear_1 → activation ("gelu_tanh" or "silu") → linear_2.</summary>
public sealed class PixArtAlphaTextProjection
{
    readonly Linear _linear1, _linear2;
    readonly Func<Tensor, Tensor> _act;

    public PixArtAlphaTextProjection(Weights w, int inFeatures, int hiddenSize, int? outFeatures = null, string actFn = "gelu_tanh")
    {
        _linear1 = new Linear(w.Sub("linear_1"), inFeatures, hiddenSize);
        _linear2 = new Linear(w.Sub("linear_2"), hiddenSize, outFeatures ?? hiddenSize);
        _act = actFn switch
        {
            "gelu_tanh" => x => x.Gelu(tanhApproximation: true),
            "silu" or "silu_fp32" => x => x.Silu(),
            _ => throw new Checkpoints.CheckpointException(null, $"PixArtAlphaTextProjection act_fn '{actFn}' is not supported (gelu_tanh, silu)"),
        };
    }

    public Tensor Forward(Tensor caption) => _linear2.Forward(_act(_linear1.Forward(caption)));
}
