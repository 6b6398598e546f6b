using VisualGen.Checkpoints;
using VisualGen.Tensors;

namespace VisualGen.Tests.Support;

/// <summary>Paths of the repository and of the diffusers conformance fixtures beside it (../shared/conformance).</summary>
public static class Fixtures
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>A [height, width, 3] float32 image of random 8-bit levels (k / 255) from <paramref name="seed"/>.</summary>
    public static HostTensor RandomImage(int height, int width, int seed)
    {
        var rng = new Random(seed);
        var v = new float[height * width * 3];
        for (int i = 0; i < v.Length; i++) v[i] = rng.Next(256) / 255f;
        return HostTensor.Float32(v, height, width, 3);
    }

    public static string? ConformanceRoot { get; } = FindConformance();

    static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "VisualGen.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("VisualGen.sln not found above the test binaries");
    }

    static string? FindConformance()
    {
        var env = Environment.GetEnvironmentVariable("VISUALGEN_CONFORMANCE");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return env;
        var p = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "conformance"));
        return Directory.Exists(p) ? p : null;
    }

    public static string Family(string family) =>
        Path.Combine(ConformanceRoot ?? throw new InvalidOperationException("../shared/conformance not found"), family);

    public static string Checkpoint(string family) => Path.Combine(Family(family), "checkpoint");

    /// <summary>The GPU machine's golden scripts' images (tools/device/cover_resize_golden.py lcg_image): uint8 levels from an
    /// LCG, [height, width, 3], times <paramref name="scale"/> (1/255 for the pipelines' [0, 1] images).</summary>
    public static HostTensor LcgImage(int h, int w, long seed, float scale = 1f)
    {
        var v = new float[h * w * 3];
        long x = seed;
        for (int i = 0; i < v.Length; i++)
        {
            x = (x * 1103515245 + 12345) % (1L << 31);
            v[i] = ((x >> 16) & 255) * scale;
        }
        return HostTensor.Float32(v, h, w, 3);
    }

    /// <summary>A new checkpoint folder made from a fixture's: its component folders linked, except
    /// <paramref name="rewritten"/> (left for the caller to write), and model_index.json with <paramref name="pipelineClass"/>
    /// as its _class_name when given.</summary>
    public static string CheckpointVariant(string family, string pipelineClass, params string[] rewritten)
    {
        string source = Checkpoint(family), dir = TempDir(family + "-variant");
        foreach (var sub in Directory.GetDirectories(source).Where(d => !rewritten.Contains(Path.GetFileName(d))))
            Directory.CreateSymbolicLink(Path.Combine(dir, Path.GetFileName(sub)), sub);
        var index = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(source, "model_index.json")))!.AsObject();
        index["_class_name"] = pipelineClass;
        File.WriteAllText(Path.Combine(dir, "model_index.json"), index.ToJsonString());
        foreach (var r in rewritten) Directory.CreateDirectory(Path.Combine(dir, r));
        return dir;
    }

    /// <summary>Opens a family's golden.safetensors.</summary>
    public static SafeTensorsFile Golden(string family) => SafeTensorsFile.Open(Path.Combine(Family(family), "golden.safetensors"));

    public static HostTensor GoldenTensor(SafeTensorsFile golden, string name) => HostTensor.FromSource(golden, name);

    /// <summary>A start of the dotnet host that runs these tests with the given arguments, its output redirected. The
    /// child's diagnostics channel is off: a child a test kills would leave its socket and pipes in the temp folder.</summary>
    public static System.Diagnostics.ProcessStartInfo DotnetStart(params IEnumerable<string> args)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var psi = new System.Diagnostics.ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_EnableDiagnostics"] = "0";
        return psi;
    }

    /// <summary>A new empty folder for one test, inside this test run's folder (<see cref="RunRoot"/>), which is deleted
    /// when the run ends: tests need not clean up after themselves.</summary>
    public static string TempDir(string prefix = "vg")
    {
        var d = Path.Combine(RunRoot.Value, $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(d);
        return d;
    }

    /// <summary>The folder of this test process's temporary folders: {temp}/visualgen-tests/{pid}-{guid}. It is deleted
    /// when the process exits; a run that was killed before that (or whose exit the test host cut short) leaves its
    /// folder behind, and the next run deletes every folder there whose process is gone.</summary>
    static readonly Lazy<string> RunRoot = new(CreateRunRoot);

    static string CreateRunRoot()
    {
        var parent = Path.Combine(Path.GetTempPath(), "visualgen-tests");
        Directory.CreateDirectory(parent);
        foreach (var earlier in Directory.GetDirectories(parent))
            if (OwnerIsGone(Path.GetFileName(earlier))) TryDelete(earlier);
        var root = Path.Combine(parent, $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
        return root;
    }

    /// <summary>Whether a run folder's name starts with the id of a process that no longer runs (names not of that
    /// form, and this process's own, are left alone).</summary>
    internal static bool OwnerIsGone(string runFolderName)
    {
        var dash = runFolderName.IndexOf('-');
        if (dash <= 0 || !int.TryParse(runFolderName.AsSpan(0, dash), out var pid) || pid == Environment.ProcessId) return false;
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException) { return true; }          // no process with that id
        catch (InvalidOperationException) { return true; }  // it exited while we looked
    }

    static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); }
        catch (IOException) { }                 // a file still held open: the next run sweeps it
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Copies a folder tree (a fixture checkpoint to edit); the copies are writable even where the
    /// originals are read-only.</summary>
    public static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var d in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, d)));
        foreach (var f in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            string dst = Path.Combine(to, Path.GetRelativePath(from, f));
            File.Copy(f, dst);
            File.SetAttributes(dst, FileAttributes.Normal);
        }
    }
}

/// <summary>A fact that needs ../shared/conformance; skipped (with the reason) where it is absent.</summary>
public sealed class ConformanceFactAttribute : FactAttribute
{
    public ConformanceFactAttribute()
    {
        if (Fixtures.ConformanceRoot is null) Skip = "../shared/conformance is not beside this checkout";
    }
}

/// <summary>A conformance fact whose video jobs write MP4s: skipped (with the reason) where the fixtures or ffmpeg and
/// ffprobe are missing.</summary>
public sealed class ConformanceFfmpegFactAttribute : FactAttribute
{
    public ConformanceFfmpegFactAttribute()
    {
        if (Fixtures.ConformanceRoot is null) Skip = "../shared/conformance is not beside this checkout";
        else if (new VisualGen.Tests.Media.FfmpegFactAttribute().Skip is string why) Skip = why;
    }
}

public sealed class ConformanceTheoryAttribute : TheoryAttribute
{
    public ConformanceTheoryAttribute()
    {
        if (Fixtures.ConformanceRoot is null) Skip = "../shared/conformance is not beside this checkout";
    }
}
