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

    public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs) => Run(inputs, null, CancellationToken.None);

    public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs, IReadOnlyCollection<string> outputs) =>
        Run(inputs, outputs, CancellationToken.None);

    /// <summary>Runs the session; cancelling <paramref name="cancellationToken"/> sets this run's own
    /// <see cref="RunOptions.Terminate"/>, which ONNX Runtime reads between nodes: a VAE decode of minutes ends within one
    /// node, with an <see cref="OperationCanceledException"/>. Only the outputs named in <paramref name="outputs"/> (null:
    /// all) are fetched.</summary>
    public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs, IReadOnlyCollection<string>? outputs,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
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
            var outputNames = outputs is null ? session.OutputNames : session.OutputNames.Where(outputs.Contains).ToList();
            if (outputNames.Count == 0) return new Dictionary<string, HostTensor>();   // none of its outputs asked for (ONNX Runtime refuses a run that fetches nothing)
            using var runOptions = new RunOptions();
            // disposed before runOptions (declared after it): a cancellation racing the end of the run never sets a freed flag
            using var terminate = cancellationToken.Register(() => runOptions.Terminate = true);
            using var fetched = session.Run(runOptions, names, values, outputNames);
            cancellationToken.ThrowIfCancellationRequested();   // cancelled after the last node: no result either
            var result = new Dictionary<string, HostTensor>();
            for (int i = 0; i < outputNames.Count; i++)
            {
                var o = fetched[i];
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
        catch (OnnxRuntimeException e) when (cancellationToken.IsCancellationRequested)
        {
            // RunOptions.Terminate ends the run with an error ("Exiting due to terminate flag being set to true")
            throw new OperationCanceledException($"engine '{Manifest.Component}' was cancelled during its run", e, cancellationToken);
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
