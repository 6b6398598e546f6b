using VisualGen.Engines.Cuda.Model;
using VisualGen.Engines.Cuda.Native;
using static VisualGen.Engines.Cuda.Native.NativeMethods;

namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>
/// A residual and the norm that reads its sum, in one pass (vg_residual_norm): a DiT block's <c>x = x + y · gate</c>
/// (<c>VgGatedResidual</c>) or <c>x = x + y</c> (<c>Add</c> of two activations of one shape), followed by the next
/// sub-block's <c>VgNorm</c> of x. The pass writes the sum (as the residual would have, in its dtype) and the norm's
/// output, or the FP8 codes and row scales of the dynamic FP8 linears that read it
/// (<see cref="NormReadByFp8RowLinears"/>), and the norm node is skipped when its turn comes. The norm reads the sum
/// once less than with two kernels; results are the same bits.
/// </summary>
internal sealed unsafe partial class ShapePlanner
{
    readonly HashSet<OpNode> _normsWithResidual = [];

    /// <summary>Plans <paramref name="residual"/> (sum = x + y [· gate], stored as <paramref name="sumType"/>) together
    /// with a norm reading the sum, when the norm's other inputs are computed by now and the vectorized kernel takes the
    /// shapes; false (nothing planned) otherwise.</summary>
    bool TryResidualNorm(OpNode residual, DeviceValue x, DeviceValue y, DeviceValue? gate, VgDType sumType)
    {
        string sum = residual.Outputs[0];
        _consumers ??= _g.Consumers();
        if (!_consumers.TryGetValue(sum, out var readers)) return false;
        var norm = readers.FirstOrDefault(r => r.Op == "VgNorm" && r.In(0) == sum && !_normsWithResidual.Contains(r));
        if (norm is null) return false;
        long c = x.Shape[^1];
        if (x.Shape.Length < 2 || !y.Shape.SequenceEqual(x.Shape) || x.DType != sumType || c % 8 != 0 || c > 32768
            || x.DType is not (VgDType.BF16 or VgDType.F32) || y.DType is not (VgDType.BF16 or VgDType.F32))
            return false;
        for (int i = 1; i <= 4; i++)
            if (norm.In(i) is string v && !_dev.ContainsKey(v) && HostOf(v) is null) return false;  // computed later
        long rows = x.Count / c, tokens = x.Shape.Length >= 3 ? x.Shape[^2] : rows;
        var p = NormInputsOf(norm, x.Shape);
        var rg = RowVec(gate, x.Shape, residual.Name);
        var s = New(sum, x.Shape, sumType);
        _dev[sum] = s;
        bool fp8 = NormReadByFp8RowLinears(norm, s, c, rows);
        var (o, scales) = fp8 ? NormFp8Rows(norm, x.Shape, rows, c) : (New(norm.Outputs[0], x.Shape, ActDType(rows)), null);
        if (!fp8) _dev[norm.Outputs[0]] = o;
        Add(new ActionStep(residual.Name + "+" + norm.Name, KernelClass.NormRope, stream =>
        {
            var (s1, s2) = p.Bound();
            RowVector g = rg;
            g.Ptr = gate?.Ptr ?? IntPtr.Zero;
            Check(vg_residual_norm(p.Kind, x.Ptr, (int)x.DType, y.Ptr, (int)y.DType, gate is null ? null : &g, s.Ptr, o.Ptr,
                fp8 ? (int)VgDType.F32 : (int)o.DType, scales?.Ptr ?? IntPtr.Zero, rows, tokens, c, p.Eps,
                p.Weight?.Ptr ?? IntPtr.Zero, p.Bias?.Ptr ?? IntPtr.Zero, 0, p.Scale is null ? null : &s1, p.Shift is null ? null : &s2, stream),
                residual.Name + " + " + norm.Name);
        }), p.Reads(x, y, gate), scales is null ? [s, o] : [s, o, scales]);
        _normsWithResidual.Add(norm);
        return true;
    }
}
