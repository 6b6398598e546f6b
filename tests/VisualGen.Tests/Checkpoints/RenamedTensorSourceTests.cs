using VisualGen.Checkpoints;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Checkpoints;

/// <summary>The renaming view a monolithic file's components are read through: other names, the file's bytes in place.</summary>
public class RenamedTensorSourceTests
{
    static string Write()
    {
        string path = Path.Combine(Fixtures.TempDir("renamed"), "m.safetensors");
        SafeTensorsWriter.Write(path, [TensorData.Float32("vocoder.conv_pre.weight", [2, 1], [1, 2]), TensorData.Float32("vae.x", [3], [3, 4, 5])]);
        return path;
    }

    [Fact]
    public void Reads_the_stored_tensor_under_its_new_name_without_copying()
    {
        string path = Write();
        using var view = new RenamedTensorSource(SafeTensorsFile.Open(path), new Dictionary<string, string> { ["conv_in.weight"] = "vocoder.conv_pre.weight" }, "vocoder");
        Assert.Equal(["conv_in.weight"], view.Names);
        Assert.True(view.Contains("conv_in.weight"));
        Assert.False(view.Contains("vocoder.conv_pre.weight"));
        Assert.Equal("conv_in.weight", view.Info("conv_in.weight").Name);
        Assert.Equal([1f, 2f], view.ReadFloat32("conv_in.weight"));
        using var file = SafeTensorsFile.Open(path);
        Assert.True(file.TryLocate("vocoder.conv_pre.weight", out var stored));
        Assert.True(view.TryLocate("conv_in.weight", out var seen));
        Assert.Equal(stored, seen);
        Assert.Equal("vocoder.conv_pre.weight", view.StoredName("conv_in.weight"));
    }

    [Fact]
    public void Unknown_names_are_errors_naming_the_file()
    {
        string path = Write();
        using var view = new RenamedTensorSource(SafeTensorsFile.Open(path), new Dictionary<string, string> { ["conv_in.weight"] = "vocoder.conv_pre.weight" }, "vocoder");
        var e = Assert.Throws<CheckpointException>(() => view.GetBytes("conv_out.weight").Length);
        Assert.Contains(path, e.Message);
        Assert.Contains("'conv_out.weight'", e.Message);
        Assert.False(view.TryLocate("conv_out.weight", out _));
        e = Assert.Throws<CheckpointException>(() => new RenamedTensorSource(SafeTensorsFile.Open(path), new Dictionary<string, string> { ["a"] = "vocoder.missing" }, "vocoder"));
        Assert.Contains("'vocoder.missing'", e.Message);
    }
}
