using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Checkpoints;

public sealed class ComponentWeightsTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-cw");

    public void Dispose() => Directory.Delete(_dir, true);

    static float[] Values(int n, float start) => Enumerable.Range(0, n).Select(i => start + i * 0.5f).ToArray();

    string WriteIndex(string name, Dictionary<string, string> map)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map }));
        return path;
    }

    void WriteShards()
    {
        SafeTensorsWriter.Write(Path.Combine(_dir, "diffusion_pytorch_model-00001-of-00002.safetensors"),
            [TensorData.Float32("a.weight", [2, 3], Values(6, 1)), TensorData.Float32("a.bias", [2], Values(2, -1))]);
        SafeTensorsWriter.Write(Path.Combine(_dir, "diffusion_pytorch_model-00002-of-00002.safetensors"),
            [TensorData.Float32("b.weight", [4], Values(4, 10))]);
    }

    static Dictionary<string, string> Map => new()
    {
        ["a.weight"] = "diffusion_pytorch_model-00001-of-00002.safetensors",
        ["a.bias"] = "diffusion_pytorch_model-00001-of-00002.safetensors",
        ["b.weight"] = "diffusion_pytorch_model-00002-of-00002.safetensors",
    };

    [Fact]
    public void SingleFile()
    {
        SafeTensorsWriter.Write(Path.Combine(_dir, "model.safetensors"), [TensorData.Float32("x", [3], Values(3, 2))]);
        using var w = ComponentWeights.Open(_dir);
        Assert.Null(w.IndexPath);
        Assert.Equal(["x"], w.Names);
        Assert.Equal(Values(3, 2), w.ReadFloat32("x"));
    }

    [Fact]
    public void ShardedLooksUpNamesAcrossShards()
    {
        WriteShards();
        string index = WriteIndex("diffusion_pytorch_model.safetensors.index.json", Map);
        using var w = ComponentWeights.Open(_dir);
        Assert.Equal(index, w.IndexPath);
        Assert.Equal(2, w.Files.Count);
        Assert.Equal(["a.bias", "a.weight", "b.weight"], w.Names.Order());
        Assert.Equal(Values(6, 1), w.ReadFloat32("a.weight"));
        Assert.Equal([2L, 3], w.Info("a.weight").Shape);
        Assert.Equal(Values(4, 10), w.ReadFloat32("b.weight"));
        Assert.EndsWith("00002-of-00002.safetensors", w.FileOfTensor("b.weight"));
        var e = Assert.Throws<CheckpointException>(() => w.Info("c"));
        Assert.Equal($"{index}: no tensor named 'c'", e.Message);
    }

    [Fact]
    public unsafe void PointerAccessMatchesSpan()
    {
        WriteShards();
        WriteIndex("diffusion_pytorch_model.safetensors.index.json", Map);
        using var w = ComponentWeights.Open(_dir);
        byte* p = w.GetPointer("b.weight");
        Assert.Equal(w.GetBytes("b.weight").ToArray(), new ReadOnlySpan<byte>(p, 16).ToArray());
    }

    [Fact]
    public void MissingShardNamesShardAndIndex()
    {
        SafeTensorsWriter.Write(Path.Combine(_dir, "diffusion_pytorch_model-00001-of-00002.safetensors"),
            [TensorData.Float32("a.weight", [2, 3], Values(6, 1)), TensorData.Float32("a.bias", [2], Values(2, -1))]);
        string index = WriteIndex("diffusion_pytorch_model.safetensors.index.json", Map);
        var e = Assert.Throws<CheckpointException>(() => ComponentWeights.Open(_dir));
        Assert.Equal(index, e.FilePath);
        Assert.Contains("shard 'diffusion_pytorch_model-00002-of-00002.safetensors' named in the weight map is missing", e.Message);
    }

    [Fact]
    public void DuplicateNameAcrossShards()
    {
        WriteShards();
        SafeTensorsWriter.Write(Path.Combine(_dir, "diffusion_pytorch_model-00002-of-00002.safetensors"),
            [TensorData.Float32("b.weight", [4], Values(4, 10)), TensorData.Float32("a.bias", [2], Values(2, 0))]);
        string index = WriteIndex("diffusion_pytorch_model.safetensors.index.json", Map);
        var e = Assert.Throws<CheckpointException>(() => ComponentWeights.Open(_dir));
        Assert.Equal($"{index}: tensor 'a.bias' is in two shards: 'diffusion_pytorch_model-00001-of-00002.safetensors' and 'diffusion_pytorch_model-00002-of-00002.safetensors'", e.Message);
    }

    [Fact]
    public void WeightMapNamingATensorTheShardLacks()
    {
        WriteShards();
        var map = Map;
        map["c.weight"] = "diffusion_pytorch_model-00002-of-00002.safetensors";
        WriteIndex("diffusion_pytorch_model.safetensors.index.json", map);
        var e = Assert.Throws<CheckpointException>(() => ComponentWeights.Open(_dir));
        Assert.Contains("tensor 'c.weight' is mapped to shard 'diffusion_pytorch_model-00002-of-00002.safetensors', which does not contain it", e.Message);
    }

    [Fact]
    public void ShardPathOutsideTheFolderIsRejected()
    {
        WriteIndex("model.safetensors.index.json", new() { ["x"] = "../elsewhere.safetensors" });
        var e = Assert.Throws<CheckpointException>(() => ComponentWeights.Open(_dir));
        Assert.Contains("weight_map['x']: shard '../elsewhere.safetensors' must be a file name inside the component folder", e.Message);
    }

    [Fact]
    public void IndexWithoutWeightMap()
    {
        string path = Path.Combine(_dir, "model.safetensors.index.json");
        File.WriteAllText(path, """{"metadata": {}}""");
        var e = Assert.Throws<CheckpointException>(() => ComponentWeights.Open(_dir));
        Assert.Equal($"{path}: missing object 'weight_map' (tensor name → shard file)", e.Message);
    }

    [Fact]
    public void IndexThatIsAnArray()
    {
        string path = Path.Combine(_dir, "model.safetensors.index.json");
        File.WriteAllText(path, "[1]");
        var e = Assert.Throws<CheckpointException>(() => ComponentWeights.Open(_dir));
        Assert.Equal($"{path}: expected a JSON object, found an array", e.Message);
    }

    [Fact]
    public void MissingComponentFolder()
    {
        string dir = Path.Combine(_dir, "transformer");
        var e = Assert.Throws<CheckpointException>(() => ComponentWeights.Open(dir));
        Assert.Equal($"{dir}: component folder not found", e.Message);
    }

    [Fact]
    public void FolderWithoutWeights()
    {
        var e = Assert.Throws<CheckpointException>(() => ComponentWeights.Open(_dir));
        Assert.Contains("no weights: expected diffusion_pytorch_model.safetensors, model.safetensors", e.Message);
    }

    [Fact]
    public void Only_variant_files_are_named_in_the_error()
    {
        File.WriteAllBytes(Path.Combine(_dir, "diffusion_pytorch_model.fp16.safetensors"), [1, 2, 3]);
        var e = Assert.Throws<CheckpointException>(() => ComponentWeights.Open(_dir));
        Assert.Contains("no weights: only variant files (diffusion_pytorch_model.fp16.safetensors)", e.Message);
        Assert.Contains("variant=None", e.Message);
    }

    [Fact]
    public void VariantIsChosenOnlyWhenAsked()
    {
        SafeTensorsWriter.Write(Path.Combine(_dir, "diffusion_pytorch_model.fp16.safetensors"), [TensorData.Float32("h", [1], [2f])]);
        Assert.Contains("no weights", Assert.Throws<CheckpointException>(() => ComponentWeights.Open(_dir)).Message);
        using var w = ComponentWeights.Open(_dir, "fp16");
        Assert.Equal([2f], w.ReadFloat32("h"));
    }
}
