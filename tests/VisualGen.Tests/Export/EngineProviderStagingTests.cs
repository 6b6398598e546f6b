using VisualGen.Exporter.Commands;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Export;

/// <summary>The provider's staging folders (.export-&lt;pid&gt;-&lt;guid&gt;, the ONNX file a build reads) on a cache root that
/// other builds of the same process share: a build removes its own staging folder and no other.</summary>
public class EngineProviderStagingTests
{
    [ConformanceFact]
    public void A_build_leaves_the_staging_folder_of_a_concurrent_build_alone()
    {
        string cache = Fixtures.TempDir("vg-cache-staging");
        try
        {
            // what another provider (or thread) of this process has staged and is still building from
            string other = Path.Combine(cache, $".export-{Environment.ProcessId}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(other);
            File.WriteAllText(Path.Combine(other, "model.onnx"), "being written");

            using (var provider = Runtime.CreateEngineProvider(cache, "ort-cpu", null))
                provider.GetEngine(Fixtures.Checkpoint("flux1"), "text_encoder", null);

            Assert.True(File.Exists(Path.Combine(other, "model.onnx")), "the build deleted another build's staging folder");
            // its own staging folder is gone
            Assert.Equal([other], Directory.GetDirectories(cache, ".export-*"));
        }
        finally { Directory.Delete(cache, recursive: true); }
    }
}
