using VisualGen.Checkpoints;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Checkpoints;

/// <summary>The streaming writer (one tensor in memory at a time): the file reads back tensor for tensor, nothing is left
/// beside it, a writer disposed without a commit leaves no file, and a repeated name is refused.</summary>
public sealed class SafeTensorsStreamWriterTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-stream");

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Tensors_added_one_at_a_time_read_back_and_nothing_is_left_beside_the_file()
    {
        string path = Path.Combine(_dir, "w.safetensors");
        using (var writer = new SafeTensorsStreamWriter(path))
        {
            writer.Add(TensorData.Float32("a", [2, 3], [1, 2, 3, 4, 5, 6]));
            writer.Add(new TensorData("b", TensorDType.U8, [5], new byte[] { 9, 8, 7, 6, 5 }));
            writer.Add(TensorData.Float32("c", [], [0.5f]));
            Assert.Equal(24 + 5 + 4, writer.DataBytes);
            writer.Commit(new Dictionary<string, string> { ["format"] = "pt" });
        }
        Assert.Equal(["w.safetensors"], Directory.GetFiles(_dir).Select(p => Path.GetFileName(p)!).ToArray());
        using var f = SafeTensorsFile.Open(path);
        Assert.Equal([1f, 2, 3, 4, 5, 6], f.ReadFloat32("a"));
        Assert.Equal(new byte[] { 9, 8, 7, 6, 5 }, f.GetBytes("b").ToArray());
        Assert.Equal([0.5f], f.ReadFloat32("c"));
        // the same bytes as writing the list at once
        string whole = Path.Combine(_dir, "whole.safetensors");
        SafeTensorsWriter.Write(whole, [TensorData.Float32("a", [2, 3], [1, 2, 3, 4, 5, 6]),
            new TensorData("b", TensorDType.U8, [5], new byte[] { 9, 8, 7, 6, 5 }), TensorData.Float32("c", [], [0.5f])],
            new Dictionary<string, string> { ["format"] = "pt" });
        Assert.Equal(File.ReadAllBytes(whole), File.ReadAllBytes(path));
    }

    [Fact]
    public void A_writer_disposed_without_commit_leaves_nothing_and_a_repeated_name_is_refused()
    {
        string path = Path.Combine(_dir, "x.safetensors");
        using (var writer = new SafeTensorsStreamWriter(path))
        {
            writer.Add(TensorData.Float32("a", [1], [1f]));
            var e = Assert.Throws<ArgumentException>(() => writer.Add(TensorData.Float32("a", [1], [2f])));
            Assert.Contains("'a' is added twice", e.Message);
        }
        Assert.Empty(Directory.GetFiles(_dir));
    }
}
