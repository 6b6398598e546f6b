using VisualGen.Engines;
using VisualGen.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

public class WanExpertResidencyTests
{
    /// <summary>Counts the engines of each component that are alive (given out and not released).</summary>
    sealed class CountingProvider(IEngineProvider inner) : IEngineProvider
    {
        readonly Dictionary<IEngine, string> _live = [];
        public int MaxLiveExperts { get; private set; }
        public List<string> Requested { get; } = [];

        public IEngine GetEngine(string modelPath, string component, IProgress<string>? progress)
        {
            var e = inner.GetEngine(modelPath, component, progress);
            Requested.Add(component);
            _live[e] = component;
            MaxLiveExperts = Math.Max(MaxLiveExperts, _live.Values.Count(c => c.StartsWith("transformer", StringComparison.Ordinal)));
            return e;
        }

        public void Release(IEngine engine)
        {
            _live.Remove(engine);
            inner.Release(engine);
        }
    }

    [ConformanceFact]
    public void A14B_keeps_only_the_expert_in_use_resident_and_still_matches_diffusers()
    {
        using var golden = Fixtures.Golden("wan22_t2v_a14b");
        var request = ConformancePipelines.RequestFromGolden("wan22_t2v_a14b", golden);
        using var inner = ConformancePipelines.Provider();
        var counting = new CountingProvider(inner);
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("wan22_t2v_a14b"), counting);
        var result = pipeline.GenerateAsync(request).GetAwaiter().GetResult();
        ConformancePipelines.AssertMatchesGolden("wan22_t2v_a14b", result);
        Assert.Contains("transformer", counting.Requested);
        Assert.Contains("transformer_2", counting.Requested);
        Assert.Equal(1, counting.MaxLiveExperts);
    }
}
