using System.Text.Json;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>wan21_t2v_teacache: WanPipeline with TeaCache by TensorRT-LLM's rule; the steps it computes must be
/// exactly the fixture's, and its outputs within the pipeline tolerance.</summary>
public class TeaCacheConformanceTests
{
    const string Family = "wan21_t2v_teacache";

    [ConformanceFact]
    public void Wan_teacache_computes_the_fixtures_steps_and_matches_its_output()
    {
        var result = ConformancePipelines.Run(Family);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.Family(Family), "golden.json")));
        bool[] expected = [.. doc.RootElement.GetProperty("computed_steps").EnumerateArray().Select(e => e.GetInt32() == 1)];
        using var golden = Fixtures.Golden(Family);
        var computedTensor = HostTensor.FromSource(golden, "teacache.computed");
        Assert.Equal(expected, computedTensor.Longs.Select(v => v == 1).ToArray());
        Assert.NotNull(result.StepCache);
        Assert.Equal("teacache", result.StepCache!.Method);
        Assert.Equal(expected, result.StepCache.Computed);
        Assert.Equal(expected.Count(c => c), result.StepCache.ComputedSteps);
        ConformancePipelines.AssertMatchesGolden(Family, result);
        // the cache changed the result: the same call without it is the fixture's other output
        var without = HostTensor.FromSource(golden, "pipeline.output_without_cache");
        Assert.True(Compare.MaxAbs(without.Floats, result.Output.Floats) > 1e-3, "TeaCache skipped steps yet the output equals the uncached one");
    }
}
