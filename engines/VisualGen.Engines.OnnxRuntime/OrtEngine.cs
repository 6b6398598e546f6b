using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Tensors;

namespace VisualGen.Engines.OnnxRuntime;

/// <summary>An ONNX Runtime session behind <see cref="IEngine"/>: host tensors in, host tensors out, no copies
/// beyond the ones ONNX Runtime makes (inputs are pinned and wrapped in place). The CPU execution provider computes in
/// host memory: pipelines run it resident through <see cref="ResidentEngines.AsResident"/>, whose tensors are host tensors.</summary>
public sealed class OrtEngine(InferenceSession session, EngineManifest manifest) : IEngine
{
    public EngineManifest Manifest { get; } = manifest;

    public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs)
    {
        foreach (var name in session.InputMetadata.Keys)
            if (!inputs.ContainsKey(name))
                throw new EngineException($"engine '{Manifest.Component}' needs input '{name}'; got {string.Join(", ", inputs.Keys)}");
        var values = new List<OrtValue>();
        try
        {
            var names = new List<string>();
            foreach (var (name, t) in inputs)
            {
                if (!session.InputMetadata.ContainsKey(name))
                    throw new EngineException($"engine '{Manifest.Component}' has no input '{name}' (inputs: {string.Join(", ", session.InputMetadata.Keys)})");
                names.Add(name);
                values.Add(t.DType switch
                {
                    TensorDType.F32 => OrtValue.CreateTensorValueFromMemory(t.Floats, t.Shape),
                    TensorDType.I64 => OrtValue.CreateTensorValueFromMemory(t.Longs, t.Shape),
                    _ => throw new EngineException($"input '{name}': element type {t.DType} is not supported"),
                });
            }
            var outputNames = session.OutputNames;
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, names, values, outputNames);
            var result = new Dictionary<string, HostTensor>();
            for (int i = 0; i < outputNames.Count; i++)
            {
                var o = outputs[i];
                var info = o.GetTensorTypeAndShape();
                long[] shape = info.Shape;
                result[outputNames[i]] = info.ElementDataType switch
                {
                    TensorElementType.Float => HostTensor.Float32(o.GetTensorDataAsSpan<float>().ToArray(), shape),
                    TensorElementType.Int64 => HostTensor.Int64(o.GetTensorDataAsSpan<long>().ToArray(), shape),
                    var other => throw new EngineException($"output '{outputNames[i]}': element type {other} is not supported"),
                };
            }
            return result;
        }
        catch (OnnxRuntimeException e)
        {
            throw new EngineException($"engine '{Manifest.Component}' failed: {e.Message}", e);
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    public void Dispose() => session.Dispose();
}
