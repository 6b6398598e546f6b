using VisualGen.Pipelines.Caching;
using VisualGen.Server.Api;

namespace VisualGen.Tests.Server;

/// <summary>A video object's and an image item's <c>step_cache</c>: its method is one of the names the server README
/// documents, "teacache" or "cache_dit" (cache_config's cache_backend values); a Cache-DiT job answered "cache-dit".</summary>
public class StepCacheSummaryTests
{
    [Theory]
    [InlineData("teacache", "teacache")]
    [InlineData("cache-dit", "cache_dit")]
    public void Method_is_named_as_the_api_documents(string reported, string api)
    {
        var summary = StepCacheSummary.Of(new StepCacheReport(reported, [true, false, false, true]))!;
        Assert.Equal(new StepCacheSummary(api, 2, 2, "1001"), summary);
    }

    [Fact]
    public void No_report_is_no_summary() => Assert.Null(StepCacheSummary.Of(null));
}
