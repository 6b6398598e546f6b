using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Wan;
using VisualGen.Exporter.Onnx;
using VisualGen.Tensors;
using VisualGen.Tests.Models;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Export;

public class ExternalDataTests
{
    /// <summary>Large models keep weights in model.onnx.data (the threshold is lowered here so a tiny model uses it);
    /// ONNX Runtime must load them and give the same result as inline weights.</summary>
    [ConformanceFact]
    public void External_data_model_matches_inline_model()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("wan21_t2v"), "transformer");
        using var weights = ComponentWeights.Open(dir);
        var graph = WanTransformer3D.Trace(dir, weights);
        string tmp = Fixtures.TempDir("extdata");
        string path = Path.Combine(tmp, "model.onnx");
        var files = new OnnxWriter { ExternalDataThreshold = 0 }.Write(graph, path);
        Assert.Equal(2, files.Count);
        Assert.True(new FileInfo(path + ".data").Length >= graph.Initializers.Where(i => i.ByteLength > 1024).Sum(i => i.ByteLength));
        Assert.True(new FileInfo(path).Length < new FileInfo(path + ".data").Length);

        using var golden = Fixtures.Golden("wan21_t2v");
        var inputs = new Dictionary<string, HostTensor>
        {
            ["hidden_states"] = Fixtures.GoldenTensor(golden, "transformer.in.hidden_states"),
            ["timestep"] = Fixtures.GoldenTensor(golden, "transformer.in.timestep"),
            ["encoder_hidden_states"] = Fixtures.GoldenTensor(golden, "transformer.in.encoder_hidden_states"),
        };
        var backend = new VisualGen.Engines.OnnxRuntime.OrtBackend();
        string entry = Fixtures.TempDir("entry");
        var built = backend.Build(path, entry, new VisualGen.Engines.EngineBuildOptions());
        Assert.Contains("model.onnx.data", built);
        using var external = backend.Load(entry, Manifest(built[0]));
        using var inline = OrtTestEngine.Build(graph, "transformer");
        var a = external.Run(inputs)["sample"].Floats;
        var b = inline.Run(inputs)["sample"].Floats;
        Assert.Equal(b, a);
        Compare.Component(golden.ReadFloat32("transformer.out"), a, "external-data transformer");
    }

    static VisualGen.Engines.EngineManifest Manifest(string entryFile) => new()
    {
        Key = "t", Component = "transformer", EntryFile = entryFile, Files = new Dictionary<string, string>(), Inputs = [], Outputs = [],
        KeyParts = new VisualGen.Engines.EngineKeyParts
        {
            GraphHash = "", WeightFingerprint = "", Backend = "ort-cpu", BackendVersion = "", Device = "", Precision = "fp32",
            Profiles = "", Opset = 23, ExporterVersion = "",
        },
    };
}
