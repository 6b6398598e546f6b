using VisualGen.Tests.Media;
using System.Diagnostics;
using VisualGen.Tests.Engines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Library;

/// <summary>README's "Use from C#" example: the same code as <see cref="ReadmeExample"/>, which runs on the demo model.</summary>
public sealed class LibraryReadmeTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-readme");

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void Readme_example_is_the_code_the_test_runs()
    {
        var readme = File.ReadAllLines(Path.Combine(Fixtures.RepoRoot, "README.md"));
        int section = Array.FindIndex(readme, l => l.Trim() == "## Use from C#");
        Assert.True(section >= 0, "README.md has no '## Use from C#' section");
        int start = Array.FindIndex(readme, section, l => l.Trim() == "```csharp") + 1;
        int end = Array.FindIndex(readme, start, l => l.Trim() == "```");
        var fromReadme = Code(readme[start..end].Where(l => !l.StartsWith("using VisualGen", StringComparison.Ordinal)));

        var source = File.ReadAllLines(Path.Combine(Fixtures.RepoRoot, "tests", "VisualGen.Tests", "Library", "ReadmeExample.cs"));
        int begin = Array.FindIndex(source, l => l.Trim() == "// readme:begin") + 1;
        int stop = Array.FindIndex(source, l => l.Trim() == "// readme:end");
        Assert.Equal(Code(source[begin..stop]), fromReadme);
    }

    static string[] Code(IEnumerable<string> lines) => lines.Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();

    [Fact]
    public async Task The_demo_folder_is_under_home_on_a_fresh_account_without_local_share()
    {
        // a fresh account has no ~/.local/share: the default lookup gave "" and the README's first command died with a
        // stack trace
        async Task<(int Exit, string Out, string Err)> Run(string home)
        {
            var psi = Fixtures.DotnetStart(typeof(TestHelperProgram).Assembly.Location, "demo-directory");
            psi.Environment.Remove("XDG_DATA_HOME");
            psi.Environment["HOME"] = home;
            using var process = Process.Start(psi)!;
            var err = process.StandardError.ReadToEndAsync();
            string output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, output.Trim(), await err);
        }
        string home = Path.Combine(_dir, "home");
        Directory.CreateDirectory(home);
        var fresh = await Run(home);
        Assert.True(fresh.Exit == 0, fresh.Err);
        Assert.Equal(Path.Combine(home, ".local", "share", "visualgen", "demo", "wan2.1-t2v-tiny"), fresh.Out);
    }

    [FfmpegFact]
    public async Task Readme_example_runs_on_the_demo_model_with_ort_cpu_and_writes_an_mp4()
    {
        var psi = Fixtures.DotnetStart(typeof(TestHelperProgram).Assembly.Location, "readme-example");
        psi.WorkingDirectory = _dir;
        psi.Environment["VISUALGEN_DEMO"] = Path.Combine(_dir, "demo");
        psi.Environment["VISUALGEN_CACHE"] = Path.Combine(_dir, "engines");
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = await process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{stdout}\n{await stderr}");
        string mp4 = Path.Combine(_dir, "fox.mp4");
        Assert.Contains("wrote fox.mp4", stdout);
        Assert.True(new FileInfo(mp4).Length > 0);
        Assert.NotEmpty(Directory.GetDirectories(Path.Combine(_dir, "engines")));
    }
}
