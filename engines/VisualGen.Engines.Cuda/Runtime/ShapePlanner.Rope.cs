using VisualGen.Engines.Cuda.Model;
using VisualGen.Engines.Cuda.Native;
using VisualGen.Engines.Cuda.Planning;
using static VisualGen.Engines.Cuda.Native.NativeMethods;

namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>The transformer steps of the newer families: the rotate-half rotary embedding (Cosmos3's and LTX-2's RoPE;
/// <see cref="RotateHalfFusion"/>) and SwiGLU (<see cref="SwiGluFusion"/>).</summary>
internal sealed unsafe partial class ShapePlanner
{
    /// <summary>out = x·cos + rotate_half(x)·sin through vg_rope_rotate_half: the shape of the two products' broadcast,
    /// cos and sin read in float32 through broadcast strides (host tables are uploaded once and shared), fp32 math.</summary>
    void RopeRotateHalf(OpNode n)
    {
        var x = Dev(n.In(0)!);
        if (x.DType is not (VgDType.F32 or VgDType.BF16)) x = Cast(x, VgDType.F32);
        var cos = Dev(n.In(1)!, VgDType.F32);
        var sin = Dev(n.In(2)!, VgDType.F32);
        var shape = Layout.Broadcast(Layout.Broadcast(x.Shape, cos.Shape, n.Name), sin.Shape, n.Name);
        if (shape.Length > MaxRank) throw new EngineException($"node '{n.Name}' (rotate-half RoPE): rank {shape.Length} exceeds the engine's {MaxRank}");
        int rank = x.Shape.Length;
        long axis = n.Int("axis", -1);
        if (axis < 0) axis += rank;
        if (axis < 0 || axis >= rank) throw new EngineException($"node '{n.Name}' (rotate-half RoPE): axis {n.Int("axis", -1)} is not one of the {rank} dims of {x}");
        long along = x.Shape[axis], first = n.Int("first", -1);
        if (first < 0) first = (along + 1) / 2; // Split with num_outputs 2: the first part is the larger one
        if (first > along) throw new EngineException($"node '{n.Name}' (rotate-half RoPE): a split of {first} exceeds the axis of {along} in {x}");
        int outAxis = (int)axis + shape.Length - rank;
        if (shape[outAxis] != along)
            throw new EngineException($"node '{n.Name}' (rotate-half RoPE): cos/sin broadcast {x} along the rotated axis to {shape[outAxis]}");
        long rows = shape.Length > 0 ? Layout.Count(shape) / shape[^1] : 1;
        var o = New(n.Outputs[0], shape, x.DType == VgDType.BF16 ? ActDType(rows) : VgDType.F32);
        long[] so = Layout.Contiguous(shape), sx = Layout.BroadcastStrides(x.Shape, shape),
            sc = Layout.BroadcastStrides(cos.Shape, shape), ss = Layout.BroadcastStrides(sin.Shape, shape);
        long split = first;
        Add(new ActionStep(n.Name, KernelClass.NormRope, stream =>
        {
            NdTensor to = default, tx = default, tc = default, ts = default;
            to.Ptr = o.Ptr; to.DType = (int)o.DType;
            tx.Ptr = x.Ptr; tx.DType = (int)x.DType;
            tc.Ptr = cos.Ptr; tc.DType = (int)VgDType.F32;
            ts.Ptr = sin.Ptr; ts.DType = (int)VgDType.F32;
            for (int i = 0; i < shape.Length; i++) { to.Strides[i] = so[i]; tx.Strides[i] = sx[i]; tc.Strides[i] = sc[i]; ts.Strides[i] = ss[i]; }
            fixed (long* ps = shape)
                Check(vg_rope_rotate_half(shape.Length, ps, outAxis, split, &to, &tx, &tc, &ts, stream), n.Name);
        }), [x, cos, sin], [o]);
        _dev[n.Outputs[0]] = o;
    }

    /// <summary>vg_nd's VG_ND_SILU_MUL: silu(a) · b.</summary>
    const int SiluMulOp = 9;

    /// <summary>silu(x1) · x2 for the halves (x1, x2) of x along an axis, read in place as two strided views of x.</summary>
    void SwiGlu(OpNode n)
    {
        var x = Dev(n.In(0)!);
        int rank = x.Shape.Length;
        long axis = n.Int("axis", 0);
        if (axis < 0) axis += rank;
        if (axis < 0 || axis >= rank) throw new EngineException($"node '{n.Name}' (SwiGLU): axis {n.Int("axis", 0)} is not one of the {rank} dims of {x}");
        if (x.Shape[axis] % 2 != 0)
            throw new EngineException($"node '{n.Name}' (SwiGLU): the split axis of {x} has an odd size, and silu(first half) · second half needs two halves of one size");
        var shape = x.Shape.ToArray();
        shape[axis] /= 2;
        long rows = rank > 0 ? Layout.Count(shape) / shape[^1] : 1;
        var dt = x.DType == VgDType.BF16 ? ActDType(rows) : VgDType.F32;
        var o = New(n.Outputs[0], shape, dt);
        var xs = Layout.Contiguous(x.Shape);
        Nd(n.Name, KernelClass.Other, SiluMulOp, shape, o, 0, Layout.Contiguous(shape), x, 0, xs, x, shape[axis] * xs[axis], xs);
        _dev[n.Outputs[0]] = o;
    }
}
