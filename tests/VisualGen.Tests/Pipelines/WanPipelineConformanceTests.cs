using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

public class WanPipelineConformanceTests
{
    [ConformanceTheory]
    [InlineData("wan21_t2v")]
    [InlineData("wan21_t2v_euler")]
    public void Wan21_text_to_video_matches_diffusers(string family)
    {
        var result = ConformancePipelines.Run(family);
        ConformancePipelines.AssertMatchesGolden(family, result);
    }
}
