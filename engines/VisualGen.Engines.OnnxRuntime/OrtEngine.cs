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
    /// <summary>The size ONNX Runtime's arena could not allocate ("Failed to allocate memory for requested buffer of size N"), or null.</summary>
    public static long? OutOfMemory(string message) =>
        System.Text.RegularExpressions.Regex.Match(message, @"Failed to allocate memory for requested buffer of size (\d+)") is { Success: true } m
            ? long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null;

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
        catch (OnnxRuntimeException e) when (OutOfMemory(e.Message) is long bytes)
        {
            throw new EngineException($"engine '{Manifest.Component}' ran out of memory: one of its buffers needs {bytes / 1e9:F1} GB " +
                $"at these shapes ({string.Join(", ", inputs.Select(i => $"{i.Key} [{string.Join(", ", i.Value.Shape)}]"))}); ask for a smaller size " +
                "or fewer frames, or run it on a machine with more memory", e);
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
