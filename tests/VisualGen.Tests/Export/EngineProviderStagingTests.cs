using VisualGen.Engines;
using VisualGen.Exporter.Commands;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Export;

/// <summary>The provider's staging folders (the ONNX file a build reads), named as the cache names a build's temporary
/// folder (.tmp-&lt;entry&gt;-&lt;pid&gt;-&lt;guid&gt;) on a cache root that other builds share: a build removes its own
/// staging folder and no other, and one a killed build left is removed by the next build of its entry and by a prune.</summary>
public class EngineProviderStagingTests
{
    [ConformanceFact]
    public void A_build_leaves_the_staging_folder_of_a_concurrent_build_alone_and_removes_a_dead_ones()
    {
        string cache = Fixtures.TempDir("vg-cache-staging");
        // what another build (of another entry) is still building from
        string other = Path.Combine(cache, $".tmp-transformer-0123456789abcdef-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(other);
        File.WriteAllText(Path.Combine(other, "model.onnx"), "being written");

        string built;
        using (var provider = Runtime.CreateEngineProvider(cache, "ort-cpu", null))
            built = provider.Prepare(Fixtures.Checkpoint("flux1"), "text_encoder", null).Report.EntryDirectory;

        Assert.True(File.Exists(Path.Combine(other, "model.onnx")), "the build deleted another build's staging folder");
        Assert.Equal([other], Directory.GetDirectories(cache, ".tmp-*"));   // its own staging folder is gone

        // a build of this entry killed while exporting: its staging folder (".export-<pid>-<guid>" before, which nothing
        // removed) belongs to the entry, so the entry's next build and a prune take it away
        string dead = Path.Combine(cache, $".tmp-{Path.GetFileName(built)}-999999-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dead);
        File.WriteAllText(Path.Combine(dead, "model.onnx"), "half an export");
        Assert.Equal(Path.GetFileName(built), EngineCache.LeftoverOwner(Path.GetFileName(dead)));
        Assert.True(new EngineCacheInventory(new EngineCache(cache)).Prune(TimeSpan.FromDays(1), dryRun: false).LeftoversRemoved >= 1);
        Assert.False(Directory.Exists(dead));
    }
}
