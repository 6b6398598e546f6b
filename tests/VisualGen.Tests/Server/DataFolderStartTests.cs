using System.Text.Json;
using VisualGen.Server.Hosting;
using VisualGen.Server.Jobs;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>A --data folder the server cannot create stops the start with one line naming the folder and the flag (it
/// said only "Could not find file '/proc/sd'").</summary>
public sealed class DataFolderStartTests
{
    [Fact]
    public void A_data_folder_that_cannot_be_created_is_named_with_its_flag()
    {
        var e = Assert.Throws<IOException>(() => new JobStore("/proc/visualgen-test-data", new JsonSerializerOptions()));
        string line = StartupError.Describe(e);
        Assert.StartsWith("cannot create /proc/visualgen-test-data/jobs (--data and --outputs name folders the server writes): ", line);
        // under a regular file (tests run as root: /proc and files stand for places that cannot be written)
        string file = Path.Combine(Fixtures.TempDir("data-file"), "data");
        File.WriteAllText(file, "not a folder");
        var images = Assert.Throws<IOException>(() => new ImageFiles(file));
        Assert.StartsWith($"cannot create {file}/images", StartupError.Describe(images));
    }
}
