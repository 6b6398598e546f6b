using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Cosmos3;

/// <summary>Cosmos3VLTextMLP: down_proj(SiLU(gate_proj(x)) · up_proj(x)) for hidden_act "silu" (Qwen3), or
/// down_proj(ReLU(up_proj(x))²) for "relu2" (Nemotron); no biases.</summary>
public sealed class Cosmos3VLTextMLP
{
    readonly Linear? _gate;
    readonly Linear _up, _down;

    public Cosmos3VLTextMLP(Weights w, int hiddenSize, int intermediateSize, string hiddenAct)
    {
        if (hiddenAct == "silu") _gate = new Linear(w.Sub("gate_proj"), hiddenSize, intermediateSize, bias: false);
        _up = new Linear(w.Sub("up_proj"), hiddenSize, intermediateSize, bias: false);
        _down = new Linear(w.Sub("down_proj"), intermediateSize, hiddenSize, bias: false);
    }

    public Tensor Forward(Tensor x)
    {
        if (_gate is null)
        {
            var r = _up.Forward(x).Relu();
            return _down.Forward(r * r);
        }
        return _down.Forward(_gate.Forward(x).Silu() * _up.Forward(x));
    }
}
