using VisualGen.Engines;
using VisualGen.Tensors;

namespace VisualGen.Tests.Engines;

static class EngineCacheTestSupport
{
    public static EngineBuildRequest Request(string graph, EngineBuildOptions? options = null, string component = "transformer") => new()
    {
        Component = component,
        OnnxPath = graph,
        GraphHash = FileDigest.Of(graph),
        WeightFingerprint = "weights-1",
        ExporterVersion = "0.1",
        Inputs = [new EngineTensorSpec("x", "float32", ["n"])],
        Outputs = [new EngineTensorSpec("y", "float32", ["n"])],
        Options = options ?? new EngineBuildOptions(),
    };

    public static float[] Run(IEngine engine, params float[] x) =>
        engine.Run(new Dictionary<string, HostTensor> { ["x"] = HostTensor.Float32(x, x.Length) })["y"].Floats;

    public static string[] Leftovers(string root) =>
        Directory.GetDirectories(root).Select(Path.GetFileName).Where(n => n!.StartsWith(".tmp-") || n.StartsWith(".trash-")).ToArray()!;

    public static string[] Entries(string root) =>
        Directory.GetDirectories(root).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')).ToArray()!;
}

/// <summary>Collects progress lines synchronously (Progress&lt;T&gt; posts them later).</summary>
sealed class ProgressLog : IProgress<string>
{
    readonly List<string> _lines = [];
    public IReadOnlyList<string> Lines { get { lock (_lines) return [.. _lines]; } }
    public void Report(string value) { lock (_lines) _lines.Add(value); }
}
