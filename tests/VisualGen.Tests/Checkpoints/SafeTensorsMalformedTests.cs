using VisualGen.Checkpoints;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Checkpoints;

public sealed class SafeTensorsMalformedTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-st");

    public void Dispose() => Directory.Delete(_dir, true);

    CheckpointException Fails(string path)
    {
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(path).Dispose());
        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path + ": ", e.Message);
        return e;
    }

    [Fact]
    public void FileShorterThanEightBytes()
    {
        string path = Path.Combine(_dir, "short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5]);
        Assert.Contains("truncated: 5 bytes, shorter than the 8-byte header length", Fails(path).Message);
    }

    [Fact]
    public void MissingFile()
    {
        string path = Path.Combine(_dir, "absent.safetensors");
        Assert.Contains("file not found", Fails(path).Message);
    }

    [Fact]
    public void HeaderLengthPastTheEnd()
    {
        string path = RawSafeTensors.Write(_dir, "h.safetensors", "{}", 0, headerLength: 1000);
        Assert.Contains("header length 1000 runs past the end of the file (10 bytes)", Fails(path).Message);
    }

    [Fact]
    public void DataShorterThanOffsets()
    {
        string path = RawSafeTensors.Write(_dir, "d.safetensors", """{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 8);
        Assert.Contains("tensor 'w': data_offsets [0, 16] out of range: data section has 8 bytes (file truncated?)", Fails(path).Message);
    }

    [Fact]
    public void OffsetsEndBeforeBegin()
    {
        string path = RawSafeTensors.Write(_dir, "o.safetensors", """{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}""", 16);
        Assert.Contains("tensor 'w': invalid data_offsets [8, 4]", Fails(path).Message);
    }

    [Fact]
    public void NegativeOffset()
    {
        string path = RawSafeTensors.Write(_dir, "n.safetensors", """{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}""", 16);
        Assert.Contains("tensor 'w': invalid data_offsets [-4, 0]", Fails(path).Message);
    }

    [Fact]
    public void OffsetsThatAreNotNumbers()
    {
        string path = RawSafeTensors.Write(_dir, "s.safetensors", """{"w":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}}""", 16);
        Assert.Contains("tensor 'w': invalid data_offsets [\"0\", \"4\"]", Fails(path).Message);
    }

    [Fact]
    public void OverlappingOffsets()
    {
        string path = RawSafeTensors.Write(_dir, "ov.safetensors",
            """{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}""", 24);
        Assert.Contains("tensors 'a' and 'b' overlap (bytes 0-16 and 8-24)", Fails(path).Message);
    }

    [Fact]
    public void UnknownDType()
    {
        string path = RawSafeTensors.Write(_dir, "u.safetensors", """{"w":{"dtype":"F7","shape":[1],"data_offsets":[0,1]}}""", 1);
        Assert.Contains("tensor 'w': unknown dtype 'F7'", Fails(path).Message);
    }

    [Fact]
    public void ByteCountDoesNotMatchShape()
    {
        string path = RawSafeTensors.Write(_dir, "m.safetensors", """{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}""", 16);
        Assert.Contains("tensor 'w': 16 bytes for shape [3] of F32 (expected 12)", Fails(path).Message);
    }

    [Fact]
    public void ShapeThatOverflows()
    {
        string path = RawSafeTensors.Write(_dir, "big.safetensors",
            """{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}""", 16);
        Assert.Contains("tensor 'w': shape [4294967296, 4294967296] overflows a 64-bit byte count", Fails(path).Message);
    }

    [Fact]
    public void NonJsonHeader()
    {
        string path = RawSafeTensors.Write(_dir, "j.safetensors", "{not json", 0);
        Assert.Contains("header is not valid JSON", Fails(path).Message);
    }

    [Fact]
    public void HeaderThatIsAnArray()
    {
        string path = RawSafeTensors.Write(_dir, "a.safetensors", "[1,2]", 0);
        Assert.Contains("header must be a JSON object of tensor entries", Fails(path).Message);
    }

    [Fact]
    public void EntryWithoutShape()
    {
        string path = RawSafeTensors.Write(_dir, "ns.safetensors", """{"w":{"dtype":"F32","data_offsets":[0,4]}}""", 4);
        Assert.Contains("tensor 'w': missing array 'shape'", Fails(path).Message);
    }

    [Fact]
    public void UnknownTensorNameIsNamed()
    {
        string path = Path.Combine(_dir, "ok.safetensors");
        SafeTensorsWriter.Write(path, [TensorData.Float32("a", [1], [1f])]);
        using var f = SafeTensorsFile.Open(path);
        var e = Assert.Throws<CheckpointException>(() => f.Info("b"));
        Assert.Equal($"{path}: no tensor named 'b'", e.Message);
    }
}
