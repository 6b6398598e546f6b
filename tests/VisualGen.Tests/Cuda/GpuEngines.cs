using VisualGen.Engines;
using VisualGen.Engines.Cuda;

namespace VisualGen.Tests.Cuda;

/// <summary>The GPU tests' way to an engine: an exported graph built by the native backend into an entry folder
/// beside it and loaded from there, as the engine cache would (without the cache's key).</summary>
static class GpuEngines
{
    public static VisualGen.Engines.Cuda.Runtime.CudaEngine BuildAndLoad(string onnxPath)
    {
        string entry = Path.Combine(Path.GetDirectoryName(onnxPath)!, "entry");
        Directory.CreateDirectory(entry);
        var backend = new CudaBackend();
        backend.Build(onnxPath, entry, new EngineBuildOptions { Precision = "bf16" });
        return backend.LoadEngine(entry, new EngineManifest
        {
            Key = "t", Component = "transformer", EntryFile = "plan.json", Files = new Dictionary<string, string>(), Inputs = [], Outputs = [],
            KeyParts = new EngineKeyParts { GraphHash = "", WeightFingerprint = "", Backend = backend.Name, BackendVersion = "", Device = "", Precision = "bf16", Profiles = "", Opset = 23, ExporterVersion = "" },
        });
    }
}
