using Microsoft.ML.OnnxRuntime;
using VisualGen.Engines;

namespace VisualGen.Engines.OnnxRuntime;

/// <summary>ONNX Runtime as an engine backend: CPU everywhere, the CUDA execution provider where its native library exists.</summary>
public sealed class OrtBackend : IEngineBackend
{
    public OrtDevice Target { get; }
    public int IntraOpThreads { get; init; }

    public OrtBackend(OrtDevice target = OrtDevice.Cpu) { Target = target; }

    public string Name => Target == OrtDevice.Cpu ? "ort-cpu" : "ort-cuda";

    public string Version => OrtEnv.Instance().GetVersionString();

    public string Device => Target == OrtDevice.Cpu ? $"cpu-{System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}".ToLowerInvariant() : "cuda:0";

    // ORT 1.31's CPU EP segfaults while applying its EXTENDED-level fusions to the Wan transformer graph (reproduced:
    // exit 139 in session creation, every time; BASIC and DISABLE_ALL load and match the goldens). ONNX Runtime is
    // the parity backend here, not the fast path, so BASIC (constant folding, MatMul+Add) is used.
    /// <summary>"Building" for ONNX Runtime: the graph already sits in the entry folder; a session is created once so
    /// that a node ONNX Runtime cannot run fails the build (naming it) rather than the first generation.</summary>
    public IReadOnlyList<string> Build(string onnxPath, string entryDirectory, EngineBuildOptions options)
    {
        if (!File.Exists(onnxPath)) throw new EngineException($"graph file not found: {onnxPath}");
        string model = Path.Combine(entryDirectory, "model.onnx");
        var files = new List<string> { "model.onnx" };
        Place(onnxPath, model);
        // external data keeps the name the ONNX file refers to
        string data = onnxPath + ".data";
        if (File.Exists(data))
        {
            Place(data, Path.Combine(entryDirectory, Path.GetFileName(data)));
            files.Add(Path.GetFileName(data));
        }
        using var session = CreateSession(model);
        return files;
    }

    // the graph file belongs to the build (IEngineBackend.Build): move it when it is elsewhere, keep it when it is already here
    static void Place(string source, string target)
    {
        if (Path.GetFullPath(source) == Path.GetFullPath(target)) return;
        File.Move(source, target, overwrite: true);
    }

    /// <summary>The CUDA execution provider's absence (the CPU package, or no CUDA/cuDNN), found by adding it to session
    /// options once per process, as every session does.</summary>
    public string? Unavailable => Target == OrtDevice.Cuda ? CudaProviderProblem.Value : null;

    static readonly Lazy<string?> CudaProviderProblem = new(() =>
    {
        using var so = new SessionOptions();
        try { so.AppendExecutionProvider_CUDA(0); return null; }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException) { return CudaMissing(e); }
    });

    static string CudaMissing(Exception e) =>
        "ONNX Runtime's CUDA execution provider was requested but its native library is not available " +
        "(this build ships the CPU package). Install the Microsoft.ML.OnnxRuntime.Gpu package and CUDA/cuDNN, " +
        $"or use --engine ort-cpu / native-cuda. ({e.Message})";

    public IEngine Load(string entryDirectory, EngineManifest manifest) =>
        new OrtEngine(CreateSession(Path.Combine(entryDirectory, manifest.EntryFile)), manifest);

    InferenceSession CreateSession(string path)
    {
        // errors reach the caller as exceptions (an EngineException naming the engine); logged too, they would print a
        // second, raw line ("[E:onnxruntime:...] ExecuteKernel ...") beside the command's one error line
        var so = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        if (IntraOpThreads > 0) so.IntraOpNumThreads = IntraOpThreads;
        try
        {
            if (Target == OrtDevice.Cuda)
            {
                try { so.AppendExecutionProvider_CUDA(0); }
                catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
                {
                    throw new EngineException(CudaMissing(e), e);
                }
            }
            return new InferenceSession(path, so);
        }
        catch (OnnxRuntimeException e)
        {
            throw new EngineException($"ONNX Runtime cannot load {path}: {e.Message}", e);
        }
        finally { so.Dispose(); }
    }
}

public enum OrtDevice { Cpu, Cuda }
