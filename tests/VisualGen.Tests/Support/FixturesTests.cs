using System.Diagnostics;

namespace VisualGen.Tests.Support;

/// <summary>The test run's temporary folders: one run folder per process, swept when its process is gone.</summary>
public class FixturesTests
{
    [Fact]
    public void Temp_dirs_are_new_empty_folders_inside_this_runs_folder()
    {
        string a = Fixtures.TempDir("probe"), b = Fixtures.TempDir("probe");
        Assert.NotEqual(a, b);
        Assert.Empty(Directory.EnumerateFileSystemEntries(a));
        var run = Path.GetDirectoryName(a)!;
        Assert.Equal(run, Path.GetDirectoryName(b));
        Assert.Equal(Path.Combine(Path.GetTempPath(), "visualgen-tests"), Path.GetDirectoryName(run));
        Assert.StartsWith($"{Environment.ProcessId}-", Path.GetFileName(run));
    }

    [Fact]
    public void Only_folders_of_processes_that_are_gone_are_swept()
    {
        Assert.False(Fixtures.OwnerIsGone($"{Environment.ProcessId}-0123"));          // this run's own
        Assert.False(Fixtures.OwnerIsGone("notes"));                                  // not a run folder
        Assert.False(Fixtures.OwnerIsGone("x12-0123"));
        Assert.False(Fixtures.OwnerIsGone($"{Environment.ProcessId}"));               // no dash: not a run folder
        using var done = Process.Start(new ProcessStartInfo("/bin/true") { UseShellExecute = false })!;
        done.WaitForExit();
        Assert.True(Fixtures.OwnerIsGone($"{done.Id}-0123"));
    }
}
