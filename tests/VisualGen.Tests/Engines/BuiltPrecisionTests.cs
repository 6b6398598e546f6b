using VisualGen.Engines;
using VisualGen.Engines.Cuda;

namespace VisualGen.Tests.Engines;

/// <summary>The cache key records the precision an entry actually holds, not the exported graph's.</summary>
public class BuiltPrecisionTests
{
    [Fact]
    public void Key_parts_take_the_backends_built_precision()
    {
        var options = new EngineBuildOptions { Precision = "fp32" };
        var plain = EngineKeyParts.For("g", "w", "v", options, new AddConstantBackend());
        var packing = EngineKeyParts.For("g", "w", "v", options, new AddConstantBackend { Packs = "bf16" });
        Assert.Equal("fp32", plain.Precision);
        Assert.Equal("bf16", packing.Precision);
        Assert.NotEqual(EngineCacheKey.Compute(plain), EngineCacheKey.Compute(packing));
    }

    [Fact]
    public void Native_cuda_entries_are_keyed_as_packed_bf16_weights_with_fp32_convolutions()
    {
        // no GPU needed: the precision is a property of what Build writes
        IEngineBackend cuda = new CudaBackend();
        Assert.Equal("bf16-weights+fp32-conv", cuda.BuiltPrecision(new EngineBuildOptions()));
        Assert.Equal(CudaBackend.PackedPrecision, cuda.BuiltPrecision(new EngineBuildOptions { Precision = "fp16" }));
    }
}
