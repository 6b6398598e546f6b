using System.Globalization;
using VisualGen.Engines;
using VisualGen.Tensors;

namespace VisualGen.Tests.Engines;

/// <summary>
/// A real, tiny backend for cache tests. Its "graph" is a text file holding a constant c; building copies it
/// to <c>engine.txt</c> and writes the shape profiles to <c>profiles.txt</c>; loading reads the constant back and
/// returns an engine computing y = x + c. Builds are counted (and appended to <see cref="BuildLog"/> when set,
/// so builds in other processes are counted too).
/// </summary>
sealed class AddConstantBackend(string version = "1") : IEngineBackend
{
    int _builds;

    public string Name => "test-add";
    public string Version => version;
    public string Device => "cpu";
    public int BuildCount => Volatile.Read(ref _builds);
    public TimeSpan BuildDelay { get; init; }
    public string? BuildLog { get; init; }
    /// <summary>Writes a partial engine file, then throws (a build that fails half way).</summary>
    public bool FailDuringBuild { get; init; }
    /// <summary>When set, what the backend says it builds (<see cref="IEngineBackend.BuiltPrecision"/>).</summary>
    public string? Packs { get; init; }

    public string BuiltPrecision(EngineBuildOptions options) => Packs ?? options.Precision;

    /// <summary>When set, what <see cref="IEngineBackend.EntryProblem"/> says of every entry (an entry whose referenced
    /// checkpoint changed).</summary>
    public Func<string, string?>? Problem { get; set; }

    public string? EntryProblem(string entryDirectory) => Problem?.Invoke(entryDirectory);

    public static string WriteGraph(string dir, float constant)
    {
        string path = Path.Combine(dir, $"graph-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, constant.ToString("R", CultureInfo.InvariantCulture));
        return path;
    }

    /// <summary>The graphs handed to <see cref="BuildTakingGraph"/> (written for the build, the backend's to take).</summary>
    public List<string> TakenGraphs { get; } = [];

    public IReadOnlyList<string> BuildTakingGraph(string onnxPath, string entryDirectory, EngineBuildOptions options)
    {
        lock (TakenGraphs) TakenGraphs.Add(onnxPath);
        return Build(onnxPath, entryDirectory, options);
    }

    public IReadOnlyList<string> Build(string onnxPath, string entryDirectory, EngineBuildOptions options)
    {
        Interlocked.Increment(ref _builds);
        if (BuildLog is not null) File.AppendAllText(BuildLog, $"{Environment.ProcessId}\n");
        File.WriteAllText(Path.Combine(entryDirectory, "engine.txt"), "");
        if (BuildDelay > TimeSpan.Zero) Thread.Sleep(BuildDelay);
        if (FailDuringBuild) throw new InvalidOperationException("simulated compiler failure");
        File.Copy(onnxPath, Path.Combine(entryDirectory, "engine.txt"), overwrite: true);
        File.WriteAllText(Path.Combine(entryDirectory, "profiles.txt"), options.ProfileText);
        return ["engine.txt", "profiles.txt"];
    }

    public IEngine Load(string entryDirectory, EngineManifest manifest)
    {
        string text = File.ReadAllText(Path.Combine(entryDirectory, manifest.EntryFile));
        return new AddConstantEngine(manifest, float.Parse(text, CultureInfo.InvariantCulture));
    }

    sealed class AddConstantEngine(EngineManifest manifest, float constant) : IEngine
    {
        public EngineManifest Manifest => manifest;

        public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs)
        {
            if (!inputs.TryGetValue("x", out var x)) throw new EngineException("input 'x' is missing");
            return new Dictionary<string, HostTensor> { ["y"] = HostTensor.Float32(x.Floats.Select(v => v + constant).ToArray(), x.Shape) };
        }

        public void Dispose() { }
    }
}
