using VisualGen.Checkpoints;
using VisualGen.Tensors;

namespace VisualGen.Tests.Support;

/// <summary>Paths of the repository and of the diffusers conformance fixtures beside it (../shared/conformance).</summary>
public static class Fixtures
{
    public static string RepoRoot { get; } = FindRepoRoot();

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

    /// <summary>Opens a family's golden.safetensors.</summary>
    public static SafeTensorsFile Golden(string family) => SafeTensorsFile.Open(Path.Combine(Family(family), "golden.safetensors"));

    public static HostTensor GoldenTensor(SafeTensorsFile golden, string name) => HostTensor.FromSource(golden, name);

    public static string TempDir(string prefix = "vg")
    {
        var d = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(d);
        return d;
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
