using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

public class WanPipelineConformanceTests
{
    [ConformanceTheory]
    [InlineData("wan21_t2v")]
    [InlineData("wan21_t2v_euler")]
    [InlineData("wan22_t2v_a14b")]
    [InlineData("wan22_ti2v_5b")]
    [InlineData("wan21_i2v")]
    [InlineData("wan22_i2v_a14b")]
    public void Wan_pipelines_match_diffusers(string family)
    {
        var result = ConformancePipelines.Run(family);
        ConformancePipelines.AssertMatchesGolden(family, result);
    }
}
