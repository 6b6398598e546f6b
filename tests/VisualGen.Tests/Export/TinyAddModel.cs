using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Export;
using VisualGen.Exporter.Graph;

namespace VisualGen.Tests.Export;

/// <summary>
/// A one-component diffusers folder whose "transformer" (class <c>TinyAddModel</c>) computes y = x + w, w being the
/// four floats of its safetensors file, and an exporter for it that counts its traces. Files are written with a write
/// time an hour back (settled), unless a test moves it. With <c>padding</c> the file also holds two unused float tensors
/// of that many elements, one before w and one after it, so w's bytes lie between the file's first and last 64 KiB.
/// </summary>
sealed class TinyAddModel
{
    public const string ClassName = "TinyAddModel";
    int _traces;

    public string Directory { get; }
    public string ComponentDirectory => Path.Combine(Directory, "transformer");
    public string WeightsPath => Path.Combine(ComponentDirectory, "diffusion_pytorch_model.safetensors");
    public string ConfigPath => Path.Combine(ComponentDirectory, "config.json");
    public int Traces => Volatile.Read(ref _traces);

    public static readonly DateTime Settled = DateTime.UtcNow.AddHours(-1);

    readonly int _padding;

    public TinyAddModel(string dir, float[] weights, int padding = 0)
    {
        Directory = dir;
        _padding = padding;
        System.IO.Directory.CreateDirectory(ComponentDirectory);
        File.WriteAllText(Path.Combine(dir, ModelIndex.FileName), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["_class_name"] = "TinyAddPipeline",
            ["transformer"] = new[] { "diffusers", ClassName },
        }));
        File.WriteAllText(ConfigPath, "{\"_class_name\": \"TinyAddModel\", \"dim\": 4}");
        WriteWeights(weights);
        foreach (var f in new[] { Path.Combine(dir, ModelIndex.FileName), ConfigPath, WeightsPath }) File.SetLastWriteTimeUtc(f, Settled);
    }

    /// <summary>Rewrites the weights (same size for four floats); the write time becomes now.</summary>
    public void WriteWeights(float[] weights) =>
        SafeTensorsWriter.Write(WeightsPath, _padding == 0
            ? [TensorData.Float32("w", [4], weights)]
            : [TensorData.Float32("a_before", [_padding], Pattern(_padding, 1)), TensorData.Float32("w", [4], weights),
               TensorData.Float32("z_after", [_padding], Pattern(_padding, 2))]);

    static float[] Pattern(int n, int seed) => Enumerable.Range(0, n).Select(i => (float)((i * 7919 + seed * 104729) % 1000) / 1000f).ToArray();

    /// <summary>Where w's 16 bytes start in the weights file (from the safetensors header).</summary>
    public long WeightsOffset()
    {
        using var fs = File.OpenRead(WeightsPath);
        var len = new byte[8];
        fs.ReadExactly(len);
        var header = new byte[(int)BitConverter.ToUInt64(len)];
        fs.ReadExactly(header);
        using var doc = JsonDocument.Parse(header);
        return 8 + header.Length + doc.RootElement.GetProperty("w").GetProperty("data_offsets")[0].GetInt64();
    }

    /// <summary>Overwrites w's bytes in place (same file, same size, header untouched); the write time becomes now.</summary>
    public void EditWeightsInPlace(float[] weights)
    {
        long at = WeightsOffset();
        using var fs = new FileStream(WeightsPath, FileMode.Open, FileAccess.Write);
        fs.Seek(at, SeekOrigin.Begin);
        fs.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(weights.AsSpan()));
    }

    public ComponentExporterRegistry Registry() => new ComponentExporterRegistry().Register(new ComponentExporter(ClassName, [""], ctx =>
    {
        Interlocked.Increment(ref _traces);
        var t = new Tracer("tiny_add");
        var x = t.Input("x", TensorDType.F32, "4");
        var w = t.Initializer("w", TensorDType.F32, [4], new CheckpointData(ctx.Weights, "w", transpose2d: false));
        t.Output(x + w, "y", "4");
        return t.Graph;
    }));
}
