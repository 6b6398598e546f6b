using VisualGen.Media;

namespace VisualGen.Tests.Media;

/// <summary>A fact that runs ffmpeg and ffprobe; skipped (with the reason) where they are not on PATH.</summary>
public sealed class FfmpegFactAttribute : FactAttribute
{
    public FfmpegFactAttribute()
    {
        if (Ffmpeg.Find() is null || FfmpegTool.Find("ffprobe") is null)
            Skip = "ffmpeg/ffprobe are not on PATH (apt-get install ffmpeg)";
    }
}

static class FfmpegTool
{
    public static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    /// <summary>Runs a tool, returns stdout bytes; fails the test with stderr on a non-zero exit.</summary>
    public static byte[] Run(string name, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(Find(name)!) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        using var ms = new MemoryStream();
        p.StandardOutput.BaseStream.CopyTo(ms);
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{name} {string.Join(' ', args)} failed: {err.Result}");
        return ms.ToArray();
    }
}
