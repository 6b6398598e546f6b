using VisualGen.Checkpoints;
using VisualGen.Quantization;

namespace VisualGen.Tests.Quantization;

/// <summary>Each scheme on small tensors whose codes and scales were worked out by hand from golden.json's rules.</summary>
public class QuantizationSchemeTests
{
    static SourceTensor Bf16(string name, long[] shape, float[] values) => new(name, TensorDType.BF16, shape, values);

    /// <summary>bf16(1/(448·512)) = 1.140625·2^-18: the scale of an all-zero bf16 tensor or block.</summary>
    const float Bf16Floor = 4.351139068603516e-06f;

    [Fact]
    public void Fp8_scale_is_rounded_to_bf16_and_the_largest_value_saturates()
    {
        // amax 4: 4/448 = 1.142857·2^-7 rounds to the bf16 1.140625·2^-7, so 4/s = 448.88 saturates to 448
        var q = new Fp8PerTensorScheme().Quantize(Bf16("w", [1, 4], [0, 1, -2, 4]));
        Assert.Equal(0.0089111328125f, Assert.Single(q.Floats("scale")));
        Assert.Empty(q.Shape("scale"));
        Assert.Equal(new byte[] { 0x00, 0x6e, 0xf6, 0x7e }, q.Bytes("q"));   // 0, 112, -224, 448
        Assert.Equal(new[] { 0f, 0.998046875f, -1.99609375f, 3.9921875f }, q.Floats("dequant"));
        Assert.Equal(["w.fp8.q", "w.fp8.scale", "w.fp8.dequant"], q.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Fp8_scale_of_a_float32_tensor_stays_float32()
    {
        var q = new Fp8PerTensorScheme().Quantize(SourceTensor.Float32("w", [4], [0, 1, -2, 4]));
        Assert.Equal(4f / 448f, Assert.Single(q.Floats("scale")));
        Assert.Equal(0x7e, q.Bytes("q")[3]);
    }

    [Fact]
    public void Fp8_all_zero_tensor_gets_the_floor_scale()
    {
        var q = new Fp8PerTensorScheme().Quantize(Bf16("z", [2, 3], new float[6]));
        Assert.Equal(Bf16Floor, Assert.Single(q.Floats("scale")));
        Assert.All(q.Bytes("q"), b => Assert.Equal(0, b));
        Assert.All(q.Floats("dequant"), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Fp8_block_scales_each_128_by_128_block_and_pads_the_edges()
    {
        const int n = 130;
        var x = new float[n * n];
        x[0] = 896;                        // block (0,0): s = 2 exactly, 896/2 = 448
        x[5 * n + 7] = 84;                 // 84/2 = 42, an e4m3 tie: 40
        x[129 * n + 129] = -3;             // block (1,1): s = bf16(3/448) = 0.0066833496, -3/s = -448.88 saturates
        var q = new Fp8BlockScheme().Quantize(Bf16("w", [n, n], x));
        Assert.Equal(new long[] { 2, 2 }, q.Shape("scale"));
        Assert.Equal(new[] { 2f, Bf16Floor, Bf16Floor, 0.006683349609375f }, q.Floats("scale"));
        var codes = q.Bytes("q");
        Assert.Equal(0x7e, codes[0]);
        Assert.Equal(0x62, codes[5 * n + 7]);
        Assert.Equal(0xfe, codes[129 * n + 129]);
        Assert.Equal(n * n - 3, codes.Count(b => b == 0));
        var dequant = q.Floats("dequant");
        Assert.Equal(896f, dequant[0]);
        Assert.Equal(80f, dequant[5 * n + 7]);
        Assert.Equal(-2.994140625f, dequant[129 * n + 129]);
    }

    [Fact]
    public void Nvfp4_packs_ties_as_golden_json_states_and_gives_a_zero_block_scale_one()
    {
        // amax 6: scale_2 = 6/2688, the block scale e4m3(447.99997) = 448, so x/(448·scale_2) = x exactly
        float[] row = [0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5, 6, -0.25f, -0.75f, -1.25f, -1.75f, -2.5f, -3.5f, -5, 0];
        var q = new Nvfp4Scheme().Quantize(Bf16("w", [2, 16], [.. row, .. new float[16]]));
        Assert.Equal(6f / 2688f, Assert.Single(q.Floats("scale_2")));
        Assert.Equal(new byte[] { 0x7e, E4M3.One }, q.Bytes("block_scale"));
        Assert.Equal(new long[] { 2, 8 }, q.Shape("packed"));
        // codes 0,2 | 2,4 | 5,5 | 6,7 | 8,10 | 10,12 | 13,13 | 14,0, the even element in the low nibble
        Assert.Equal(new byte[] { 0x20, 0x42, 0x55, 0x76, 0xa8, 0xca, 0xdd, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0 }, q.Bytes("packed"));
        float[] expected = [0, 1, 1, 2, 3, 3, 4, 6, 0, -1, -1, -2, -3, -3, -4, 0];
        Assert.Equal([.. expected, .. new float[16]], q.Floats("dequant"));
        Assert.Equal(0, BitConverter.SingleToInt32Bits(q.Floats("dequant")[8]));   // code 8 (-0.25 → "−0") dequantizes to +0
    }

    [Fact]
    public void Nvfp4_all_zero_tensor_is_all_zero_codes_with_unit_block_scales()
    {
        var q = new Nvfp4Scheme().Quantize(Bf16("z", [1, 32], new float[32]));
        Assert.Equal(0f, Assert.Single(q.Floats("scale_2")));
        Assert.Equal(new byte[] { E4M3.One, E4M3.One }, q.Bytes("block_scale"));
        Assert.All(q.Bytes("packed"), b => Assert.Equal(0, b));
        Assert.All(q.Floats("dequant"), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Nvfp4_refuses_an_input_dimension_that_is_not_a_multiple_of_16()
    {
        var e = Assert.Throws<QuantizationException>(() => new Nvfp4Scheme().Quantize(Bf16("blocks.0.w", [4, 24], new float[96])));
        Assert.Contains("'blocks.0.w'", e.Message);
        Assert.Contains("multiple of 16", e.Message);
    }

    [Fact]
    public void Fp8_1x128_scales_through_the_reciprocal_of_amax()
    {
        // amax 3.9375: 448·(1/3.9375) = 113.77778625 (448/3.9375 would round to 113.77777863), which puts
        // 0.369140625·qs just above the tie 42 so it rounds up to 44, and stores 1/qs one ulp below 3.9375/448
        var x = new float[2 * 130];
        x[0] = 3.9375f;
        x[1] = 0.369140625f;
        var q = new Fp8ActivationGroupScheme().Quantize(Bf16("x", [2, 130], x));
        Assert.Equal(new long[] { 2, 2 }, q.Shape("dequant_scale"));
        Assert.Equal(new[] { BitConverter.Int32BitsToSingle(0x3c0fffff), 1, 1, 1 }, q.Floats("dequant_scale"));
        var codes = q.Bytes("q");
        Assert.Equal(0x7e, codes[0]);
        Assert.Equal(0x63, codes[1]);
        Assert.Equal(2 * 130 - 2, codes.Count(b => b == 0));
    }

    [Theory]
    [InlineData("fp8_block")]
    [InlineData("nvfp4")]
    [InlineData("fp8_1x128")]
    public void Matrix_schemes_refuse_other_ranks_naming_the_tensor(string scheme)
    {
        Assert.True(QuantizationSchemeRegistry.CreateDefault().TryGet(scheme, out var s));
        var e = Assert.Throws<QuantizationException>(() => s.Quantize(Bf16("proj.bias", [32], new float[32])));
        Assert.Contains("'proj.bias'", e.Message);
        Assert.Contains("shape [32]", e.Message);
        Assert.Contains(scheme, e.Message);
    }

    [Fact]
    public void Registry_lists_the_four_schemes_and_refuses_a_second_of_one_name()
    {
        var registry = QuantizationSchemeRegistry.CreateDefault();
        Assert.Equal(["fp8", "fp8_block", "nvfp4", "fp8_1x128"], registry.Names);
        Assert.False(registry.TryGet("int4", out _));
        Assert.Throws<ArgumentException>(() => registry.Register(new Nvfp4Scheme()));
    }
}
