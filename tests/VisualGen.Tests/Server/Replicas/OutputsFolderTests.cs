using VisualGen.Server.Hosting;
using VisualGen.Tests.Media;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server.Replicas;

/// <summary>--outputs with the data folder's store: records stay in --data, videos go to --outputs and are served from there.</summary>
public sealed class OutputsFolderTests
{
    [FfmpegFact]
    public async Task Videos_go_to_the_outputs_folder_and_are_served_from_it()
    {
        var options = new ServerOptions { DataDir = Fixtures.TempDir("vg-data"), OutputsDir = Fixtures.TempDir("vg-outputs") };
        await using var server = await LiveServer.StartAsync(new GradientPipeline(), options);
        var (status, body) = await server.PostJsonAsync("/v1/videos", new { prompt = "to the outputs folder" });
        Assert.Equal(200, status);
        string id = body.GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(id, TimeSpan.FromSeconds(60), "completed");
        Assert.True(File.Exists(Path.Combine(options.DataDir, "jobs", id + ".json")));
        Assert.False(Directory.Exists(Path.Combine(options.DataDir, "videos")) && File.Exists(Path.Combine(options.DataDir, "videos", id + ".mp4")));
        byte[] stored = await File.ReadAllBytesAsync(Path.Combine(options.OutputsDir, "videos", id + ".mp4"));
        Assert.Equal(stored, await server.Http.GetByteArrayAsync($"/v1/videos/{id}/content"));
    }
}
