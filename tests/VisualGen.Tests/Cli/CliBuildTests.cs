using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>build refuses an engine cache it cannot create before tracing anything (see <see cref="CliWriteFailureTests"/>
/// for why /proc and a path under a regular file stand for unwritable places when tests run as root).</summary>
public class CliBuildCacheFailureTests
{
    [ConformanceTheory]
    [InlineData("--cache")]
    [InlineData("--engine-cache")]
    public void Build_into_a_cache_under_proc_is_one_error_line_before_tracing(string flag)
    {
        var run = CliRun.Of(["build", "--model", Fixtures.Checkpoint("wan21_t2v"), flag, "/proc/visualgen-test-cache"]);
        Assert.Equal(1, run.Rc);
        Assert.Contains("engine cache /proc/visualgen-test-cache: cannot create it", Assert.Single(run.ErrorLines));
        Assert.DoesNotContain("tracing", run.Err);
    }
}

public class CliBuildCacheFlagTests
{
    [ConformanceFact]
    public void Build_with_cache_and_engine_cache_naming_two_folders_is_refused()
    {
        var run = CliRun.Of(["build", "--model", Fixtures.Checkpoint("wan21_t2v"), "--cache", "/tmp/a", "--engine-cache", "/tmp/b"]);
        Assert.Equal(2, run.Rc);
        Assert.Contains("--engine-cache /tmp/b and --cache /tmp/a name two engine caches", Assert.Single(run.ErrorLines));
    }
}
