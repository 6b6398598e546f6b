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
        var w = norm.In(1) is string ws ? Dev(ws, VgDType.F32) : null;
        var b = norm.In(2) is string bs ? Dev(bs, VgDType.F32) : null;
        var scale = norm.In(3) is string ss ? Dev(ss) : null;
        var shift = norm.In(4) is string hs ? Dev(hs) : null;
        var rs = RowVec(scale, x.Shape, norm.Name); var rh = RowVec(shift, x.Shape, norm.Name);
        var rg = RowVec(gate, x.Shape, residual.Name);
        int kind = (int)norm.Int("kind", 0); float eps = (float)norm.Float("epsilon", 1e-5);
        var s = New(sum, x.Shape, sumType);
        bool fp8 = NormReadByFp8RowLinears(norm, s, c, rows);
        DeviceValue o, scales;
        if (fp8)
        {
            o = Temp([rows, c], VgDType.FP8E4M3);
            scales = Temp([rows], VgDType.F32);
        }
        else
        {
            o = New(norm.Outputs[0], x.Shape, ActDType(rows));
            scales = o;  // unused
        }
        var reads = new[] { x, y, gate, w, b, scale, shift }.Where(v => v is not null).ToArray()!;
        Add(new ActionStep(residual.Name + "+" + norm.Name, KernelClass.NormRope, stream =>
        {
            RowVector g = rg, s1 = rs, s2 = rh;
            g.Ptr = gate?.Ptr ?? IntPtr.Zero; s1.Ptr = scale?.Ptr ?? IntPtr.Zero; s2.Ptr = shift?.Ptr ?? IntPtr.Zero;
            Check(vg_residual_norm(kind, x.Ptr, (int)x.DType, y.Ptr, (int)y.DType, gate is null ? null : &g, s.Ptr, o.Ptr,
                fp8 ? (int)VgDType.F32 : (int)o.DType, fp8 ? scales.Ptr : IntPtr.Zero, rows, tokens, c, eps,
                w?.Ptr ?? IntPtr.Zero, b?.Ptr ?? IntPtr.Zero, 0, scale is null ? null : &s1, shift is null ? null : &s2, stream),
                residual.Name + " + " + norm.Name);
        }), reads!, fp8 ? [s, o, scales] : [s, o]);
        _dev[sum] = s;
        if (fp8)
        {
            _quantizedInputs[(norm.Outputs[0], null, Fp8RowsForm)] = (o, scales);
            _quantizedOnly[norm.Outputs[0]] = new DeviceValue(norm.Outputs[0], x.Shape, ActDType(rows));
        }
        else _dev[norm.Outputs[0]] = o;
        _normsWithResidual.Add(norm);
        return true;
    }
}
