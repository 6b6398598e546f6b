using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Export;
using VisualGen.Exporter.Graph;

namespace VisualGen.Tests.Export;

/// <summary>
/// A one-component diffusers folder whose "transformer" (class <c>TinyAddModel</c>) computes y = x + w, w being the
/// four floats of its safetensors file, and an exporter for it that counts its traces. Files are written with a write
/// time an hour back (settled), unless a test moves it.
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

    public TinyAddModel(string dir, float[] weights)
    {
        Directory = dir;
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
        SafeTensorsWriter.Write(WeightsPath, [TensorData.Float32("w", [4], weights)]);

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
