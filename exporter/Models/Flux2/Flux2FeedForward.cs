using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Flux2;

/// <summary>Flux2FeedForward: linear_in to 2 × inner, SwiGLU (SiLU of the first half times the second), linear_out;
/// no biases.</summary>
public sealed class Flux2FeedForward(Weights w, int dim, int innerDim)
{
    readonly Linear _linearIn = new(w.Sub("linear_in"), dim, 2 * innerDim, bias: false);
    readonly Linear _linearOut = new(w.Sub("linear_out"), innerDim, dim, bias: false);

    public Tensor Forward(Tensor x) => _linearOut.Forward(SwiGlu(_linearIn.Forward(x)));

    /// <summary>Flux2SwiGLU: silu(x[..., :half]) · x[..., half:].</summary>
    public static Tensor SwiGlu(Tensor x)
    {
        var halves = x.Chunk(2, -1);
        return halves[0].Silu() * halves[1];
    }
}
