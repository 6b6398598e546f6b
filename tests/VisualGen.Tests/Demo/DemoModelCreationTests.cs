using System.Text.Json.Nodes;
using VisualGen.Checkpoints;
using VisualGen.Demo;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Demo;

public class DemoModelCreationTests
{
    static readonly string[] ExpectedFiles =
    [
        "model_index.json",
        "scheduler/scheduler_config.json",
        "text_encoder/config.json", "text_encoder/model.safetensors",
        "tokenizer/spiece.model", "tokenizer/tokenizer_config.json",
        "transformer/config.json", "transformer/diffusion_pytorch_model.safetensors",
        "vae/config.json", "vae/diffusion_pytorch_model.safetensors",
        DemoModel.MarkerFileName,
    ];

    static string[] RelativeFiles(string dir) =>
        [.. Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/')).Order(StringComparer.Ordinal)];

    [Fact]
    public void Two_creations_give_byte_identical_files()
    {
        string root = Fixtures.TempDir("demo");
        try
        {
            string a = DemoModel.EnsureCreated(Path.Combine(root, "a"));
            string b = DemoModel.EnsureCreated(Path.Combine(root, "b", "nested"));
            Assert.Equal(ExpectedFiles.Order(StringComparer.Ordinal), RelativeFiles(a));
            Assert.Equal(RelativeFiles(a), RelativeFiles(b));
            foreach (var f in RelativeFiles(a))
                Assert.True(File.ReadAllBytes(Path.Combine(a, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(b, f))), $"{f} differs");
            // Only the model folders remain: no temporary or stale siblings.
            Assert.Equal(["a", "b"], Directory.GetFileSystemEntries(root).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            Assert.Equal(["nested"], Directory.GetFileSystemEntries(Path.Combine(root, "b")).Select(Path.GetFileName));
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void The_whole_demo_is_under_two_megabytes()
    {
        string root = Fixtures.TempDir("demo");
        try
        {
            string dir = DemoModel.EnsureCreated(Path.Combine(root, "m"));
            long total = Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            Assert.InRange(total, 500_000, 2_000_000);
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void A_complete_folder_of_the_current_version_is_reused_untouched()
    {
        string root = Fixtures.TempDir("demo");
        try
        {
            string dir = DemoModel.EnsureCreated(Path.Combine(root, "m"));
            string weights = Path.Combine(dir, "vae", "diffusion_pytorch_model.safetensors");
            var stamp = new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);
            File.SetLastWriteTimeUtc(weights, stamp);
            Assert.Equal(dir, DemoModel.EnsureCreated(Path.Combine(root, "m") + Path.DirectorySeparatorChar));
            Assert.Equal(stamp, File.GetLastWriteTimeUtc(weights));
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void A_damaged_or_older_demo_folder_is_regenerated()
    {
        string root = Fixtures.TempDir("demo");
        try
        {
            string dir = DemoModel.EnsureCreated(Path.Combine(root, "m"));
            string weights = Path.Combine(dir, "transformer", "diffusion_pytorch_model.safetensors");
            byte[] original = File.ReadAllBytes(weights);

            File.WriteAllBytes(weights, original[..100]); // truncated
            Assert.False(DemoModel.IsComplete(dir));
            DemoModel.EnsureCreated(dir);
            Assert.Equal(original, File.ReadAllBytes(weights));

            string marker = Path.Combine(dir, DemoModel.MarkerFileName);
            var json = JsonNode.Parse(File.ReadAllText(marker))!.AsObject();
            json["demo_version"] = DemoModel.Version - 1;
            File.WriteAllText(marker, json.ToJsonString());
            File.WriteAllText(Path.Combine(dir, "leftover.txt"), "from an older demo");
            Assert.False(DemoModel.IsComplete(dir));
            DemoModel.EnsureCreated(dir);
            Assert.True(DemoModel.IsComplete(dir));
            Assert.False(File.Exists(Path.Combine(dir, "leftover.txt")));
            Assert.Single(Directory.GetFileSystemEntries(root));
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void A_foreign_non_empty_folder_is_refused_and_left_alone()
    {
        string root = Fixtures.TempDir("demo");
        try
        {
            string dir = Path.Combine(root, "mine");
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "notes.txt"), "keep me");
            var e = Assert.Throws<CheckpointException>(() => DemoModel.EnsureCreated(dir));
            Assert.Contains("not a VisualGen demo model", e.Message);
            Assert.Equal("keep me", File.ReadAllText(Path.Combine(dir, "notes.txt")));
            Assert.Single(Directory.GetFileSystemEntries(root));

            string empty = Path.Combine(root, "empty");
            Directory.CreateDirectory(empty);
            Assert.True(DemoModel.IsComplete(DemoModel.EnsureCreated(empty)));
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void Concurrent_creations_end_with_one_complete_folder()
    {
        string root = Fixtures.TempDir("demo");
        try
        {
            string target = Path.Combine(root, "m");
            var results = Enumerable.Range(0, 4).AsParallel().WithDegreeOfParallelism(4).Select(_ => DemoModel.EnsureCreated(target)).ToArray();
            Assert.All(results, r => Assert.Equal(Path.GetFullPath(target), r));
            Assert.True(DemoModel.IsComplete(target));
            Assert.Single(Directory.GetFileSystemEntries(root));
        }
        finally { Directory.Delete(root, true); }
    }
}
