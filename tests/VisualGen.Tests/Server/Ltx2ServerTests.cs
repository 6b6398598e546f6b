using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>LTX-2 served over HTTP: the video job's MP4 carries the model's soundtrack as an AAC stream; a request the
/// pipeline refuses is a 400 before a job is stored.</summary>
public sealed class Ltx2ServerTests
{
    [ConformanceFfmpegFact]
    public async Task Video_job_mp4_carries_the_generated_audio()
    {
        var options = WanServer.Options() with { ModelDir = Fixtures.Checkpoint("ltx2") };
        await using var server = await LiveServer.StartAsync(WanServer.Load, options);
        var (status, created) = await server.PostJsonAsync("/v1/videos",
            new { prompt = "waves crash against black rocks", size = "32x32", num_frames = 9, num_inference_steps = 2, seed = 4 });
        Assert.True(status == 200, created.ToString());
        string id = created.GetProperty("id").GetString()!;
        var done = await server.WaitForStatusAsync(id, TimeSpan.FromSeconds(120), "completed", "failed");
        Assert.True(done.GetProperty("status").GetString() == "completed", done.ToString());

        string path = Path.Combine(Fixtures.TempDir("ltx2-server"), "video.mp4");
        await File.WriteAllBytesAsync(path, await server.Http.GetByteArrayAsync($"/v1/videos/{id}/content"));
        var (frames, width, height, codec) = MediaProbe.Mp4(path);
        Assert.Equal((9, 32, 32, "h264"), (frames, width, height, codec));
        Assert.Equal("aac", MediaProbe.AudioCodec(path));
    }

    [ConformanceFact]
    public async Task A_max_sequence_length_past_the_text_encoder_s_positions_is_a_400_and_no_job()
    {
        // within the field's range (4096) but past the fixture's Gemma 3 max_position_embeddings (1024): a job was
        // stored and ran past the encoder's positions
        var options = WanServer.Options() with { ModelDir = Fixtures.Checkpoint("ltx2") };
        await using var server = await LiveServer.StartAsync(WanServer.Load, options);
        var (status, body) = await server.PostJsonAsync("/v1/videos",
            new { prompt = "waves", size = "32x32", num_frames = 9, num_inference_steps = 2, max_sequence_length = 1025 });
        Assert.Equal(400, status);
        LiveServer.AssertError(body, "invalid_value", "max_sequence_length");
        Assert.Contains("at most 1024", body.GetProperty("error").GetProperty("message").GetString());
        var (_, list) = await server.GetJsonAsync("/v1/videos");
        Assert.Equal(0, list.GetProperty("data").GetArrayLength());
    }
}
