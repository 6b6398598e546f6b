using System.Buffers.Binary;
using System.Runtime.InteropServices;
using VisualGen.Checkpoints;

namespace VisualGen.Tensors;

/// <summary>Conversions between stored element types and float32 / int64.</summary>
public static class ElementConvert
{
    public static float[] ToFloat32(ReadOnlySpan<byte> bytes, TensorDType dtype, long count)
    {
        var dst = new float[count];
        ToFloat32(bytes, dtype, dst);
        return dst;
    }

    public static void ToFloat32(ReadOnlySpan<byte> bytes, TensorDType dtype, Span<float> dst)
    {
        switch (dtype)
        {
            case TensorDType.F32: MemoryMarshal.Cast<byte, float>(bytes).CopyTo(dst); break;
            case TensorDType.F64:
                { var s = MemoryMarshal.Cast<byte, double>(bytes); for (int i = 0; i < dst.Length; i++) dst[i] = (float)s[i]; break; }
            case TensorDType.F16: unsafe { Widen(MemoryMarshal.Cast<byte, Half>(bytes), dst, &WidenHalfRange); } break;
            case TensorDType.BF16: unsafe { Widen(MemoryMarshal.Cast<byte, ushort>(bytes), dst, &WidenBFloat16Range); } break;
            case TensorDType.F8E4M3: for (int i = 0; i < dst.Length; i++) dst[i] = Float8E4M3ToFloat(bytes[i]); break;
            case TensorDType.F8E5M2: for (int i = 0; i < dst.Length; i++) dst[i] = (float)BitConverter.UInt16BitsToHalf((ushort)(bytes[i] << 8)); break;
            case TensorDType.I64: { var s = MemoryMarshal.Cast<byte, long>(bytes); for (int i = 0; i < dst.Length; i++) dst[i] = s[i]; break; }
            case TensorDType.I32: { var s = MemoryMarshal.Cast<byte, int>(bytes); for (int i = 0; i < dst.Length; i++) dst[i] = s[i]; break; }
            case TensorDType.U8 or TensorDType.Bool: for (int i = 0; i < dst.Length; i++) dst[i] = bytes[i]; break;
            case TensorDType.I8: for (int i = 0; i < dst.Length; i++) dst[i] = (sbyte)bytes[i]; break;
            case TensorDType.I16: { var s = MemoryMarshal.Cast<byte, short>(bytes); for (int i = 0; i < dst.Length; i++) dst[i] = s[i]; break; }
            default: throw new NotSupportedException($"conversion from {dtype} to float32");
        }
    }

    /// <summary>Elements per range of the widening conversions; arrays of more than two ranges are widened on every core
    /// (a 12B checkpoint is billions of 16-bit weights, each widened once when a weight is quantized or copied).</summary>
    const int WidenRange = 1 << 20;

    /// <summary>Widens <paramref name="src"/> into <paramref name="dst"/> with <paramref name="widen"/>(src, dst, start, end),
    /// in ranges on every core when there are more than two.</summary>
    static unsafe void Widen<T>(ReadOnlySpan<T> src, Span<float> dst, delegate*<void*, void*, int, int, void> widen) where T : unmanaged
    {
        if (src.Length < dst.Length) throw new ArgumentException($"{src.Length} stored values for {dst.Length} floats", nameof(src));
        fixed (T* s = src)
        fixed (float* d = dst)
        {
            int count = dst.Length;
            if (count <= 2 * WidenRange) { widen(s, d, 0, count); return; }
            nint sp = (nint)s, dp = (nint)d, f = (nint)widen;
            Parallel.For(0, (count + WidenRange - 1) / WidenRange, r =>
            {
                int start = r * WidenRange;
                ((delegate*<void*, void*, int, int, void>)f)((void*)sp, (void*)dp, start, Math.Min(count, start + WidenRange));
            });
        }
    }

    /// <summary>bf16 to float32: the 16 bits become the float's high half (exact, NaN payloads kept), 16 at a time.</summary>
    static unsafe void WidenBFloat16Range(void* src, void* dst, int start, int end)
    {
        ushort* s = (ushort*)src;
        uint* d = (uint*)dst;
        int i = start;
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
            for (; i + 16 <= end; i += 16)
            {
                var (lo, hi) = System.Runtime.Intrinsics.Vector256.Widen(System.Runtime.Intrinsics.Vector256.Load(s + i));
                System.Runtime.Intrinsics.Vector256.Store(lo << 16, d + i);
                System.Runtime.Intrinsics.Vector256.Store(hi << 16, d + i + 8);
            }
        for (; i < end; i++) d[i] = (uint)s[i] << 16;
    }

    static unsafe void WidenHalfRange(void* src, void* dst, int start, int end)
    {
        Half* s = (Half*)src;
        float* d = (float*)dst;
        for (int i = start; i < end; i++) d[i] = (float)s[i];
    }

    public static long[] ToInt64(ReadOnlySpan<byte> bytes, TensorDType dtype, long count, string file, string name)
    {
        var dst = new long[count];
        switch (dtype)
        {
            case TensorDType.I64: MemoryMarshal.Cast<byte, long>(bytes).CopyTo(dst); break;
            case TensorDType.I32: { var s = MemoryMarshal.Cast<byte, int>(bytes); for (int i = 0; i < dst.Length; i++) dst[i] = s[i]; break; }
            case TensorDType.U8 or TensorDType.Bool: for (int i = 0; i < dst.Length; i++) dst[i] = bytes[i]; break;
            default: throw new CheckpointException(file, $"tensor '{name}' is {dtype}, expected an integer type");
        }
        return dst;
    }

    public static float BFloat16ToFloat(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Round-to-nearest-even float32 → bfloat16 bits (NaN stays NaN).</summary>
    public static ushort FloatToBFloat16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (ushort)((u >> 16) | 0x40);
        uint rounding = 0x7fff + ((u >> 16) & 1);
        return (ushort)((u + rounding) >> 16);
    }

    /// <summary>OCP FP8 E4M3 (finite, no infinities; 0x7f/0xff are NaN), from a table of the 256 codes (every dequant
    /// of FP8 weights decodes once per weight).</summary>
    public static float Float8E4M3ToFloat(byte b) => E4M3Values[b];

    static readonly float[] E4M3Values = Enumerable.Range(0, 256).Select(b => DecodeE4M3((byte)b)).ToArray();

    static float DecodeE4M3(byte b)
    {
        int sign = b >> 7, exp = (b >> 3) & 0xf, man = b & 7;
        if (exp == 0xf && man == 7) return float.NaN;
        float v = exp == 0 ? man / 8f * MathF.Pow(2, -6) : (1 + man / 8f) * MathF.Pow(2, exp - 7);
        return sign == 1 ? -v : v;
    }

    public static byte[] FromFloat32(ReadOnlySpan<float> src, TensorDType dtype)
    {
        switch (dtype)
        {
            case TensorDType.F32: return MemoryMarshal.AsBytes(src).ToArray();
            case TensorDType.F16:
                {
                    var b = new byte[src.Length * 2];
                    for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(b.AsSpan(i * 2), (Half)src[i]);
                    return b;
                }
            case TensorDType.BF16:
                {
                    var b = new byte[src.Length * 2];
                    for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(i * 2), FloatToBFloat16(src[i]));
                    return b;
                }
            default: throw new NotSupportedException($"conversion from float32 to {dtype}");
        }
    }
}
