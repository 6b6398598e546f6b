using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Engines.OnnxRuntime;
using VisualGen.Exporter.Models.Wan;
using VisualGen.Exporter.Onnx;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Models;

public class WanTransformerConformanceTests
{
    [ConformanceFact]
    public void Wan21_transformer_matches_diffusers_golden()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("wan21_t2v"), "transformer");
        using var weights = SafeTensorsFile.Open(Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
        var graph = WanTransformer3D.Trace(dir, weights);
        using var engine = OrtTestEngine.Build(graph, "transformer");
        using var golden = Fixtures.Golden("wan21_t2v");
        var outputs = engine.Run(new Dictionary<string, HostTensor>
        {
            ["hidden_states"] = Fixtures.GoldenTensor(golden, "transformer.in.hidden_states"),
            ["timestep"] = Fixtures.GoldenTensor(golden, "transformer.in.timestep"),
            ["encoder_hidden_states"] = Fixtures.GoldenTensor(golden, "transformer.in.encoder_hidden_states"),
        });
        var expected = Fixtures.GoldenTensor(golden, "transformer.out");
        Assert.Equal(expected.Shape, outputs["sample"].Shape);
        Compare.Component(expected.Floats, outputs["sample"].Floats, "transformer.out");
    }
}

/// <summary>Writes a graph to a temporary folder and loads it with ONNX Runtime CPU (no engine cache).</summary>
static class OrtTestEngine
{
    public static IEngine Build(Exporter.Graph.Graph graph, string component)
    {
        string dir = Fixtures.TempDir("ort");
        string path = Path.Combine(dir, "model.onnx");
        new OnnxWriter().Write(graph, path);
        var backend = new OrtBackend();
        var files = backend.Build(path, dir, new EngineBuildOptions());
        var manifest = new EngineManifest
        {
            Key = "test", Component = component, EntryFile = files[0], Files = new Dictionary<string, string>(),
            Inputs = [], Outputs = [],
            KeyParts = new EngineKeyParts
            {
                GraphHash = graph.StructureHash(), WeightFingerprint = "", Backend = backend.Name, BackendVersion = backend.Version,
                Device = backend.Device, Precision = "fp32", Profiles = "", Opset = OnnxWriter.Opset, ExporterVersion = Exporter.ExporterInfo.Version,
            },
        };
        return backend.Load(dir, manifest);
    }
}
