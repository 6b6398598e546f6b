using System.Runtime.InteropServices;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Models.Flux;

/// <summary>
/// FluxPosEmbed: rotary angles over position ids [tokens, axes] (text ids then image ids, float), one band of
/// axes_dim[i] / 2 frequencies per axis, theta 10000. As diffusers, the angles pos · 1/θ^(2j/d) and their cos/sin are
/// computed in float64 and rounded to float32. Returns cos and sin [tokens, head_dim/2] (one angle per pair; diffusers
/// repeat-interleaves them to head_dim, which <see cref="Modules.RotaryEmbedding.ApplyInterleaved"/> does implicitly).
/// </summary>
public sealed class FluxPosEmbed(int[] axesDim, double theta = 10000.0)
{
    public (Tensor Cos, Tensor Sin) Forward(Tensor ids)
    {
        var t = ids.Tracer;
        int half = axesDim.Sum() / 2;
        // one frequency per output pair, and the axis (column of ids) it reads: a [axes, half] selection matrix
        // turns pos [tokens, axes] into pos·freq [tokens, half] with one MatMul in float64
        var table = new double[axesDim.Length * half];
        int col = 0;
        for (int axis = 0; axis < axesDim.Length; axis++)
            for (int j = 0; j < axesDim[axis] / 2; j++, col++)
                table[axis * half + col] = 1.0 / Math.Pow(theta, 2.0 * j / axesDim[axis]);
        var freqs = t.Initializer($"pos_embed.freqs_{t.Graph.Initializers.Count}", TensorDType.F64, [axesDim.Length, half],
            new InlineData(MemoryMarshal.AsBytes(table.AsSpan()).ToArray()));
        var angles = ids.Cast(TensorDType.F64).MatMul(freqs);
        return (angles.Cos().Cast(TensorDType.F32), angles.Sin().Cast(TensorDType.F32));
    }
}
