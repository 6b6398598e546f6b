using System.Text.Json;
using VisualGen.Server.Hosting;
using VisualGen.Server.Jobs;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>A --data folder the server cannot create, or one another server owns, stops the start with one line naming
/// the folder (it said only "Could not find file '/proc/sd'", and a second server took over the first one's jobs).</summary>
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

    [Fact]
    public void A_second_server_on_the_same_data_folder_is_refused_until_the_first_lets_it_go()
    {
        string data = Fixtures.TempDir("shared-data");
        var first = new JobStore(data, new JsonSerializerOptions());
        var e = Assert.Throws<IOException>(() => new JobStore(data, new JsonSerializerOptions()));
        Assert.Equal($"the data folder {data} is in use by another VisualGen server (it holds {Path.Combine(data, JobStore.OwnerLockName)}): " +
            "give each server its own --data, or let servers share one queue through --store postgres://…", StartupError.Describe(e));
        first.Dispose();
        using var next = new JobStore(data, new JsonSerializerOptions());   // a restart after the first stopped
    }

    [Fact]
    public void A_soundtrack_s_scratch_wav_left_by_a_crash_mid_encode_is_removed_at_start()
    {
        // an LTX-2 job killed while ffmpeg encoded it left the temporary MP4 (removed) and the soundtrack's WAV
        // beside it (Mp4Writer's ".{target}.{guid}.wav"), which stayed in videos/ for good
        string data = Fixtures.TempDir("crash-data");
        string videos = Path.Combine(data, "videos");
        Directory.CreateDirectory(videos);
        string id = JobId.New(JobId.VideoPrefix);
        string tmp = Path.Combine(videos, $".{id}.0123.mp4.tmp.4567.tmp");
        string wav = Path.Combine(videos, $".{id}.0123.mp4.tmp.89ab.wav");
        File.WriteAllText(tmp, "half an mp4");
        File.WriteAllText(wav, "a soundtrack");
        using var store = new JobStore(data, new JsonSerializerOptions());
        store.Load(0, (_, _) => { });
        Assert.Empty(Directory.EnumerateFiles(videos));
    }
}
