using VisualGen.Checkpoints;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>A Hugging Face cache snapshot (snapshots/REV/...) holds relative links into blobs/ for every file: weights
/// read through a link must be the target's bytes (the link's own length, its target path's, read as a truncated file).</summary>
public class SymlinkedSnapshotTests
{
    /// <summary>The demo model as the hub's cache lays it out: every file a relative link to a blob.</summary>
    static string Snapshot()
    {
        string model = VisualGen.Demo.DemoModel.EnsureCreated(Path.Combine(Fixtures.TempDir("demo"), "wan"));
        string root = Fixtures.TempDir("hf-cache"), blobs = Path.Combine(root, "blobs"), snapshot = Path.Combine(root, "snapshots", "rev");
        Directory.CreateDirectory(blobs);
        int n = 0;
        foreach (var file in Directory.EnumerateFiles(model, "*", SearchOption.AllDirectories))
        {
            string blob = Path.Combine(blobs, $"blob{n++}");
            File.Copy(file, blob);
            string link = Path.Combine(snapshot, Path.GetRelativePath(model, file));
            Directory.CreateDirectory(Path.GetDirectoryName(link)!);
            File.CreateSymbolicLink(link, Path.GetRelativePath(Path.GetDirectoryName(link)!, blob));
        }
        return snapshot;
    }

    [Fact]
    public void Weights_behind_links_open_as_their_targets()
    {
        string snapshot = Snapshot();
        string vae = Directory.GetFiles(Path.Combine(snapshot, "vae"), "*.safetensors").Single();
        Assert.NotNull(new FileInfo(vae).LinkTarget);
        using var linked = SafeTensorsFile.Open(vae);
        using var target = SafeTensorsFile.Open(new FileInfo(vae).ResolveLinkTarget(true)!.FullName);
        Assert.Equal(target.Tensors.Count, linked.Tensors.Count);
        Assert.True(linked.Tensors.Count > 0);
    }

    [Fact]
    public void Generate_runs_from_a_hub_cache_snapshot()
    {
        string output = Path.Combine(Fixtures.TempDir("out"), "fox");
        var run = CliRun.Of(["generate", "--model", Snapshot(), "--prompt", "a fox", "--height", "32", "--width", "32", "--frames", "5",
            "--steps", "1", "--format", "png", "--output", output]);
        Assert.True(run.Rc == 0, run.Err);
        Assert.Equal(5, Directory.GetFiles(output, "*.png").Length);
    }
}
