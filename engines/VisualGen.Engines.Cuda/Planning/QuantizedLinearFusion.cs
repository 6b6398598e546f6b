using VisualGen.Checkpoints;
using VisualGen.Engines.Cuda.Model;
using VisualGen.Quantization;

namespace VisualGen.Engines.Cuda.Planning;

/// <summary>
/// Rewrites the exporter's quantized linears (exporter/Quantization/QuantizedLinear.cs) into one <c>VgQuantLinear</c>
/// each: <c>MatMul(x', Transpose(dequantize(W)))</c> [+ bias] [+ Gelu(tanh)], where dequantize(W) is
/// <list type="bullet">
/// <item>FP8: <c>DequantizeLinear(codes e4m3 [N,K], scale)</c>, and x' either x or, with a static <c>input_scale</c>,
/// <c>DequantizeLinear(QuantizeLinear(x, s, e4m3 0), s)</c>;</item>
/// <item>FP8_BLOCK_SCALES: <c>Reshape(Reshape(Cast(codes), [N/128,128,K/128,128]) · scales [N/128,1,K/128,1], [N,K])</c>;</item>
/// <item>NVFP4: the nibbles of packed [N,K/2] (BitwiseAnd 15, BitShift 4 right, interleaved low first), looked up in the
/// E2M1 table, times float32(e4m3 block scales [N,K/16]) · scale_2.</item>
/// </list>
/// The fused node reads the stored codes as they are: inputs [x, codes, scales, extra, bias] with
/// codes = e4m3 [N,K] (<c>#fp8nk</c>, 1 byte each) or packed NVFP4 [N,K/2] (<c>#fp4nk</c>); scales = FP8's per-tensor
/// scale, FP8_BLOCK_SCALES' block scales padded to [N/128, ceil4(K/128)] (<c>#blk128</c>, the layout cuBLASLt's 128x128
/// scaling reads), NVFP4's e4m3 block scales (<c>#e4m3</c>); extra = FP8's static input scale (or none) or NVFP4's
/// scale_2. Attributes: scheme (<see cref="QuantScheme"/>), n, k, epilogue (as <c>VgLinear</c>'s).
/// </summary>
public static class QuantizedLinearFusion
{
    public const string Fp8Codes = "#fp8nk";
    public const string Nvfp4Codes = "#fp4nk";
    public const string Nvfp4BlockScales = "#e4m3";
    public const string BlockScales = "#blk128";

    sealed record Match(string Scheme, ConstTensor Codes, string Scales, string? Extra, long N, long K);

    public static void Apply(OpGraph g, FusionReport report)
    {
        var consumers = g.Consumers();
        var producers = g.Producers();
        foreach (var mm in g.Nodes.Where(n => n.Op == "MatMul").ToList())
        {
            if (!producers.TryGetValue(mm.In(1) ?? "", out var t) || t.Op != "Transpose" || t.Ints("perm") is not [1, 0]) continue;
            var w = new Walk(g, producers);
            if ((MatchFp8(w, t.In(0)) ?? MatchFp8Block(w, t.In(0)) ?? MatchNvfp4(w, t.In(0))) is not { } m) continue;
            string x = mm.In(0)!;
            string? inputScale = null;
            if (m.Scheme == QuantScheme.Fp8 && StaticInput(w, x) is { } fq) (x, inputScale) = fq;
            var (removed, output, bias, epilogue) = Fusion.LinearEpilogue(g, consumers, producers, mm, m.N);
            var fused = new OpNode("VgQuantLinear", mm.Name, [x, m.Codes.Name, m.Scales, m.Extra ?? inputScale, bias], [output], new()
            {
                ["scheme"] = new(Text: m.Scheme), ["n"] = new(Int: m.N), ["k"] = new(Int: m.K), ["epilogue"] = new(Int: epilogue),
            });
            Fusion.Replace(g, removed, removed[^1], fused);
            report.Count($"VgQuantLinear({m.Scheme}{(inputScale is null ? "" : ", static input scale")})");
        }
    }

    /// <summary>DequantizeLinear(codes e4m3 [N,K], per-tensor scale).</summary>
    static Match? MatchFp8(Walk w, string? value)
    {
        if (w.Node(value, "DequantizeLinear") is not { } d || d.In(2) is not null) return null;
        if (w.Const(d.In(0)) is not { DType: TensorDType.F8E4M3, Shape.Length: 2 } codes || !w.IsScalar(d.In(1))) return null;
        return new Match(QuantScheme.Fp8, w.Alias(codes, Fp8Codes), d.In(1)!, null, codes.Shape[0], codes.Shape[1]);
    }

    /// <summary>Reshape(Reshape(Cast(codes), [N/128, 128, K/128, 128]) · scales [N/128, 1, K/128, 1], [N, K]).</summary>
    static Match? MatchFp8Block(Walk w, string? value)
    {
        const int b = Fp8BlockScheme.BlockSize;
        if (w.Node(value, "Reshape") is not { } outer || w.Node(outer.In(0), "Mul") is not { } mul) return null;
        int side = w.Const(mul.In(1)) is not null ? 1 : 0;
        if (w.Const(mul.In(side)) is not { DType: TensorDType.F32 } scales || w.Node(mul.In(1 - side), "Reshape") is not { } inner) return null;
        if (w.Node(inner.In(0), "Cast") is not { } cast || cast.Int("to", 0) != 1) return null;
        if (w.Const(cast.In(0)) is not { DType: TensorDType.F8E4M3, Shape.Length: 2 } codes) return null;
        long n = codes.Shape[0], k = codes.Shape[1];
        if (n % b != 0 || k % b != 0 || !scales.Shape.SequenceEqual([n / b, 1, k / b, 1])) return null;
        if (!w.Ints(inner.In(1), [n / b, b, k / b, b]) || !w.Ints(outer.In(1), [n, k])) return null;
        return new Match(QuantScheme.Fp8Block, w.Alias(codes, Fp8Codes), w.PaddedBlockScales(scales, n / b, k / b), null, n, k);
    }

    /// <summary>Reshape(Reshape(Gather(E2M1, Cast(nibbles)), [N, K/16, 16]) · Unsqueeze(Cast(block scales) · scale_2), [N, K]).</summary>
    static Match? MatchNvfp4(Walk w, string? value)
    {
        const int b = Nvfp4Scheme.BlockSize;
        if (w.Node(value, "Reshape") is not { } outer || w.Node(outer.In(0), "Mul") is not { } mul) return null;
        if (w.Node(mul.In(0), "Reshape") is not { } values || w.Node(mul.In(1), "Unsqueeze") is not { } stepU || !w.Ints(stepU.In(1), [-1])) return null;
        // the step: float32(block scale) · scale_2
        if (w.Node(stepU.In(0), "Mul") is not { } step || w.Node(step.In(0), "Cast") is not { } scaleCast || scaleCast.Int("to", 0) != 1) return null;
        if (w.Const(scaleCast.In(0)) is not { DType: TensorDType.F8E4M3, Shape.Length: 2 } blockScales || !w.IsScalar(step.In(1))) return null;
        // the values: the E2M1 table at the codes
        if (w.Node(values.In(0), "Gather") is not { } gather || gather.Int("axis", 0) != 0 || !w.IsE2M1Table(gather.In(0))) return null;
        if (w.Node(gather.In(1), "Cast") is not { } codeCast || codeCast.Int("to", 0) != 7) return null;
        if (w.Node(codeCast.In(0), "Reshape") is not { } codesRows || w.Node(codesRows.In(0), "Concat") is not { } cat) return null;
        if (cat.Inputs.Count != 2 || cat.Int("axis", 0) != -1) return null;
        if (w.Node(cat.In(0), "Unsqueeze") is not { } u0 || w.Node(cat.In(1), "Unsqueeze") is not { } u1 || !w.Ints(u0.In(1), [-1]) || !w.Ints(u1.In(1), [-1])) return null;
        if (w.Node(u0.In(0), "BitwiseAnd") is not { } low || w.Node(u1.In(0), "BitShift") is not { } high || high.Text("direction", "") != "RIGHT") return null;
        if (low.In(0) != high.In(0) || !w.Byte(low.In(1), 0x0f) || !w.Byte(high.In(1), 4)) return null;
        if (w.Const(low.In(0)) is not { DType: TensorDType.U8, Shape.Length: 2 } packed) return null;
        long n = packed.Shape[0], k = packed.Shape[1] * 2;
        if (!blockScales.Shape.SequenceEqual([n, k / b]) || !w.Ints(codesRows.In(1), [n, k]) || !w.Ints(values.In(1), [n, k / b, b]) || !w.Ints(outer.In(1), [n, k]))
            return null;
        return new Match(QuantScheme.Nvfp4, w.Alias(packed, Nvfp4Codes), w.Alias(blockScales, Nvfp4BlockScales).Name, step.In(1), n, k);
    }

    /// <summary>FP8's static input scale: <c>DequantizeLinear(QuantizeLinear(x, s, e4m3 0, saturate), s)</c> → (x, s).</summary>
    static (string X, string Scale)? StaticInput(Walk w, string value)
    {
        if (w.Node(value, "DequantizeLinear") is not { } dq || w.Node(dq.In(0), "QuantizeLinear") is not { } q || dq.In(2) is not null) return null;
        if (q.Int("saturate", 1) != 1 || !w.IsScalar(q.In(1)) || !w.IsScalar(dq.In(1)) || w.Const(q.In(2)) is not { DType: TensorDType.F8E4M3, Count: 1 } zero) return null;
        if (zero.Bytes[0] != 0 || w.Const(q.In(1))!.ToDoubles()[0] != w.Const(dq.In(1))!.ToDoubles()[0]) return null;
        return (q.In(0)!, q.In(1)!);
    }

    /// <summary>Lookups over the graph during one match.</summary>
    sealed class Walk(OpGraph g, Dictionary<string, OpNode> producers)
    {
        public OpNode? Node(string? value, string op) => value is not null && producers.TryGetValue(value, out var p) && p.Op == op ? p : null;

        public ConstTensor? Const(string? name) => name is not null && g.Constants.TryGetValue(name, out var c) ? c : null;

        public bool IsScalar(string? name) => Const(name) is { DType: TensorDType.F32, Count: 1 };

        public bool Ints(string? name, long[] expected) =>
            Const(name) is { DType: TensorDType.I64 } c && c.ToDoubles().Select(d => (long)d).SequenceEqual(expected);

        public bool Byte(string? name, byte value) => Const(name) is { DType: TensorDType.U8, Count: 1 } c && c.Bytes[0] == value;

        public bool IsE2M1Table(string? name) =>
            Const(name) is { DType: TensorDType.F32, Count: 16 } c && c.ToDoubles().Select((v, i) => v == E2M1.Decode((byte)i)).All(x => x);

        /// <summary>The constant's bytes under a name that marks it a device weight, in its own dtype and layout
        /// (a checkpoint tensor stays a reference to the checkpoint).</summary>
        public ConstTensor Alias(ConstTensor c, string suffix)
        {
            string name = c.Name + suffix;
            if (g.Constants.TryGetValue(name, out var existing)) return existing;
            return g.Constants[name] = new ConstTensor(name, c.DType, c.Shape, () => c.Bytes) { Stored = c.Stored, Checkpoint = c.Referenceable };
        }

        /// <summary>Block scales [rows, cols] (the [N/128, 1, K/128, 1] constant's values) with each row padded to a
        /// multiple of 4 (cuBLASLt's 128x128 scale layout; the padding is 1).</summary>
        public string PaddedBlockScales(ConstTensor scales, long rows, long cols)
        {
            string name = scales.Name + BlockScales;
            if (g.Constants.ContainsKey(name)) return name;
            long ld = (cols + 3) / 4 * 4;
            g.Constants[name] = new ConstTensor(name, TensorDType.F32, [rows, ld], () =>
            {
                var src = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(scales.Bytes);
                var dst = new float[rows * ld];
                Array.Fill(dst, 1f);
                for (long r = 0; r < rows; r++) src.Slice((int)(r * cols), (int)cols).CopyTo(dst.AsSpan((int)(r * ld)));
                return System.Runtime.InteropServices.MemoryMarshal.AsBytes(dst.AsSpan()).ToArray();
            });
            return name;
        }
    }
}
