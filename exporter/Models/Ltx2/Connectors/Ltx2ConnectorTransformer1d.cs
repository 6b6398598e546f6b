using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Ltx2;

namespace VisualGen.Exporter.Models.Ltx2.Connectors;

/// <summary>
/// diffusers' LTX2ConnectorTransformer1d: with learnable registers, the valid tokens are moved to the front (in
/// order) and the tail filled with the registers tiled over the sequence, and attention is then unmasked; 1-D split
/// RoPE over positions p/base_seq_len; the blocks; RMSNorm (no weight).
/// </summary>
public sealed class Ltx2ConnectorTransformer1d
{
    const float Eps = 1e-6f;
    readonly int _heads, _headDim, _inner, _baseSeqLen;
    readonly float[] _freqs;
    readonly Tensor? _registers;
    readonly int _registerCount;
    readonly Ltx2TransformerBlock1d[] _blocks;

    public Ltx2ConnectorTransformer1d(Weights w, Ltx2ConnectorsConfig c, int heads, int headDim, int layers, int? registers, bool gated)
    {
        _heads = heads;
        _headDim = headDim;
        _inner = heads * headDim;
        _baseSeqLen = c.ConnectorRopeBaseSeqLen;
        _freqs = Ltx2RopeFrequencies.Compute(_inner / 2, c.RopeTheta, c.RopeDoublePrecision);
        if (registers is int n)
        {
            _registerCount = n;
            _registers = w.Get("learnable_registers", [n, _inner]);
        }
        _blocks = Enumerable.Range(0, layers).Select(i => new Ltx2TransformerBlock1d(w.Sub($"transformer_blocks.{i}"), _inner, heads, headDim, gated)).ToArray();
    }

    /// <summary>cos/sin [1, L, heads, 1, head_dim/2] of positions 0..L−1 (diffusers' LTX2RotaryPosEmbed1d, split).</summary>
    Ltx2Attention.Rope Rope(Tensor x)
    {
        var t = x.Tracer;
        Dim length = x.Size(1);
        var grid = Tensor.Arange(t, length).Cast(Checkpoints.TensorDType.F32) / (float)_baseSeqLen;
        var angles = (grid.Unsqueeze(1) * 2f - 1f) * t.Const(_freqs, _freqs.Length);
        Tensor Layout(Tensor a) => a.Reshape(1, length, _heads, 1, _headDim / 2);
        return new Ltx2Attention.Rope(Layout(angles.Cos()), Layout(angles.Sin()));
    }

    /// <param name="x">[B, L, inner]</param>
    /// <param name="additiveMask">[B, 1, 1, L]: 0 for tokens, −float.MaxValue for padding</param>
    /// <returns>the states and the mask the connector leaves (all zeros when registers replaced the padding)</returns>
    public (Tensor States, Tensor Mask) Forward(Tensor x, Tensor additiveMask)
    {
        var t = x.Tracer;
        var mask = additiveMask;
        Tensor? attnMask = additiveMask;
        if (_registers is not null)
        {
            Dim b = x.Size(0), length = x.Size(1);
            // binary mask (mask ≥ −9000), then a stable move of the valid tokens to the front: token i goes to
            // (valid ? #valid before it : #valid + #padding before it)
            var valid = t.Op("GreaterOrEqual", [additiveMask.Reshape(b, length), t.Scalar(-9000f)], null, Checkpoints.TensorDType.Bool).Cast(Checkpoints.TensorDType.I64);
            var validBefore = valid.CumSum(1) - valid;
            var count = valid.ReduceSum([1]);
            var positions = Tensor.Arange(t, length).Unsqueeze(0);
            var destination = validBefore.Where(valid.Cast(Checkpoints.TensorDType.Bool), count + (positions - validBefore));
            var dest3 = destination.Unsqueeze(2).ExpandAs(x.Shape());
            var front = t.Op("ScatterElements", [x, dest3, x], new() { ["axis"] = 1L });
            // registers tiled over the sequence (L must be a multiple of their count, as diffusers requires)
            var tiled = _registers.Unsqueeze(0).Expand(length / _registerCount, _registerCount, _inner).Reshape(length, _inner).Unsqueeze(0);
            var isFront = count.Greater(positions).Unsqueeze(2);
            x = front.Where(isFront, tiled.ExpandAs(x.Shape()));
            mask = additiveMask * 0f;
            attnMask = null;
        }
        var rope = Rope(x);
        for (int i = 0; i < _blocks.Length; i++)
            using (t.Scope($"transformer_blocks.{i}")) x = _blocks[i].Forward(x, attnMask, rope);
        return (x.RmsNorm(null, Eps, _inner), mask);
    }
}
