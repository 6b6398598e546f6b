using System.Diagnostics;
using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Tensors;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>LTX-2 through the CLI: driven like cli_fixture.py (audio_latents in --latents; audio_latents and audio in
/// --save-tensors), the soundtrack as a WAV beside PNG frames or muxed into the MP4, and bad guidance flags named.</summary>
public class Ltx2CliTests
{
    static string Latents(string dir)
    {
        string latents = Path.Combine(dir, "latents.safetensors");
        using var golden = Fixtures.Golden("ltx2");
        SafeTensorsWriter.Write(latents, [HostTensor.FromSource(golden, "pipeline.latents_init").ToTensorData("latents"),
            HostTensor.FromSource(golden, "pipeline.audio_latents_init").ToTensorData("audio_latents")]);
        return latents;
    }

    [ConformanceFact]
    public void Cli_generate_matches_the_ltx2_goldens_and_writes_the_audio_beside_the_frames()
    {
        string tmp = Fixtures.TempDir("cli-ltx2");
        string tensors = Path.Combine(tmp, "out.safetensors");
        var run = CliRun.Of(CliConformanceTests.ArgsFromGolden("ltx2", Latents(tmp), tensors, Path.Combine(tmp, "frames")));
        Assert.True(run.Rc == 0, $"exit {run.Rc}: {run.Err}");
        using var saved = SafeTensorsFile.Open(tensors);
        using var gold = Fixtures.Golden("ltx2");
        foreach (var (reference, name) in new[] { ("pipeline.latents_final", "latents"), ("pipeline.output", "output"),
                     ("pipeline.audio_latents_final", "audio_latents"), ("pipeline.audio", "audio") })
        {
            Assert.Equal(gold.Info(reference).Shape, saved.Info(name).Shape);
            Compare.Pipeline(gold.ReadFloat32(reference), saved.ReadFloat32(name), name);
        }
        Assert.True(File.Exists(Path.Combine(tmp, "frames", "frame_0000.png")));
        string wav = Path.Combine(tmp, "frames.wav");
        Assert.True(File.Exists(wav), "frames.wav was not written");
        // 32-bit float WAV: 2 channels × 132 samples after a 58-byte header with the fact chunk
        Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(wav), 0, 4));
        Assert.Contains("frames.wav", run.Out);
    }

    [ConformanceFact]
    public void A_folder_where_the_soundtrack_goes_is_refused_before_generating()
    {
        // FOLDER.wav a folder: the frames were written, then the WAV failed ("cannot write WAV: Is a directory"), exit 1
        string tmp = Fixtures.TempDir("cli-ltx2-wav-folder");
        Directory.CreateDirectory(Path.Combine(tmp, "frames.wav"));
        var run = CliRun.Of(["generate", "--model", Fixtures.Checkpoint("ltx2"), "--prompt", "rain on a tin roof",
            "--height", "32", "--width", "32", "--frames", "9", "--steps", "2", "--max-sequence-length", "32",
            "--output", Path.Combine(tmp, "frames"), "--format", "png", "--engine-cache", ConformancePipelines.CacheDir]);
        Assert.Equal(1, run.Rc);
        Assert.Contains("frames.wav: is a folder; the soundtrack is written there beside the PNG frames", Assert.Single(run.ErrorLines));
        Assert.False(run.Generated, run.Err);
        Assert.False(Directory.Exists(Path.Combine(tmp, "frames")));
    }

    [ConformanceFact]
    public void Generate_takes_a_monolithic_ltx2_file_as_the_model()
    {
        string file = VisualGen.Tests.Pipelines.Ltx2MonolithicFile.Build(Fixtures.Checkpoint("ltx2"));
        string tmp = Fixtures.TempDir("cli-ltx2-file");
        var run = CliRun.Of(["generate", "--model", file, "--prompt", "rain on a tin roof",
            "--height", "32", "--width", "32", "--frames", "3", "--steps", "2", "--max-sequence-length", "32", "--stg-scale", "0",
            "--output", Path.Combine(tmp, "frames"), "--format", "png", "--save-tensors", Path.Combine(tmp, "t.safetensors"), "--engine-cache", ConformancePipelines.CacheDir]);
        Assert.True(run.Rc == 0, $"exit {run.Rc}: {run.Err}");
        using var saved = VisualGen.Checkpoints.SafeTensorsFile.Open(Path.Combine(tmp, "t.safetensors"));
        Assert.True(saved.Contains("audio"));
    }

    [ConformanceFact]
    public void Mp4_output_carries_the_soundtrack()
    {
        if (VisualGen.Media.Ffmpeg.Find() is null) return;   // MP4 needs ffmpeg; the PNG path above covers the rest
        string tmp = Fixtures.TempDir("cli-ltx2-mp4");
        string mp4 = Path.Combine(tmp, "out.mp4");
        var run = CliRun.Of(["generate", "--model", Fixtures.Checkpoint("ltx2"), "--prompt", "rain on a tin roof",
            "--height", "32", "--width", "32", "--frames", "9", "--steps", "2", "--max-sequence-length", "32",
            "--spatio-temporal-guidance-blocks", "1", "--output", mp4, "--engine-cache", ConformancePipelines.CacheDir]);
        Assert.True(run.Rc == 0, $"exit {run.Rc}: {run.Err}");
        string? ffprobe = Path.Combine(Path.GetDirectoryName(VisualGen.Media.Ffmpeg.Find()!)!, "ffprobe");
        if (!File.Exists(ffprobe)) return;
        var psi = new ProcessStartInfo(ffprobe, ["-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", mp4])
        { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        string streams = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Contains("video", streams);
        Assert.Contains("audio", streams);
    }

    [ConformanceTheory]
    [InlineData(new[] { "--spatio-temporal-guidance-blocks", "5" }, "spatio_temporal_guidance_blocks: block 5 is not one of the transformer's 2 blocks")]
    [InlineData(new[] { "--spatio-temporal-guidance-blocks", "1,x" }, "--spatio-temporal-guidance-blocks must be comma-separated integers")]
    [InlineData(new[] { "--use-cross-timestep", "maybe" }, "--use-cross-timestep must be true or false")]
    [InlineData(new[] { "--frames", "10" }, "num_frames: num_frames must be 2k+1 (1, 3, 5, ...: the video VAE compresses time by 2), got 10")]
    [InlineData(new[] { "--frame-rate", "0" }, "frame_rate: frame_rate must be a positive number")]
    [InlineData(new[] { "--frame-rate", "24", "--fps", "24" }, "--fps and --frame-rate are the same setting")]
    [InlineData(new[] { "--stg-scale", "0", "--audio-stg-scale", "-1" }, "audio_stg_scale: audio_stg_scale must be a number ≥ 0")]
    [InlineData(new[] { "--stg-scale", "0", "--guidance-rescale", "1.5" }, "guidance_rescale: guidance_rescale must be between 0 and 1")]
    [InlineData(new[] { "--stg-scale", "0", "--width", "48" }, "width: width must be a positive multiple of 32")]
    [InlineData(new[] { "--stg-scale", "0", "--guidance-scale-2", "2" }, "LTX2Pipeline takes no guidance_scale_2")]
    // its scheduler's shift_terminal cannot stretch one step's schedule [1]: refused before the prompt is encoded
    [InlineData(new[] { "--steps", "1" }, "num_inference_steps: num_inference_steps must be at least 2 for this model (its scheduler stretches the schedule to shift_terminal 0.1")]
    public void Bad_ltx2_arguments_are_named(string[] extra, string message)
    {
        string[] width = extra.Contains("--width") ? [] : ["--width", "32"];
        string[] frames = extra.Contains("--frames") ? [] : ["--frames", "9"];
        string[] steps = extra.Contains("--steps") ? [] : ["--steps", "2"];
        var run = CliRun.Of(["generate", "--model", Fixtures.Checkpoint("ltx2"), "--prompt", "waves", "--height", "32", .. width,
            .. frames, .. steps, "--engine-cache", ConformancePipelines.CacheDir,
            "--output", Path.Combine(Fixtures.TempDir("err"), "o"), "--format", "png", .. extra]);
        Assert.NotEqual(0, run.Rc);
        Assert.Contains(message, run.Err);
        Assert.False(run.Generated, "the request should be refused before the prompt is encoded");
    }

    [ConformanceTheory]
    // the fixture's text_config says max_position_embeddings 1024
    [InlineData("100000")]   // ran until Gemma's attention asked for an 80 GB buffer at encode (exit 1)
    [InlineData("1025")]     // ran, past the encoder's positions
    public void A_max_sequence_length_past_the_text_encoder_s_positions_is_a_usage_error(string length)
    {
        var run = CliRun.Of(["generate", "--model", Fixtures.Checkpoint("ltx2"), "--prompt", "waves", "--height", "32", "--width", "32",
            "--frames", "9", "--steps", "2", "--max-sequence-length", length, "--engine-cache", ConformancePipelines.CacheDir,
            "--output", Path.Combine(Fixtures.TempDir("err"), "o"), "--format", "png"]);
        Assert.True(run.Rc == 2, $"exit {run.Rc}: {run.Err}");
        Assert.Contains($"max_sequence_length: max_sequence_length must be at most 1024 (the Gemma 3 text encoder's max_position_embeddings), got {length}", run.Err);
        Assert.False(run.Generated, "the request should be refused before the prompt is encoded");
    }

    [ConformanceFact]
    public void A_max_sequence_length_not_a_multiple_of_the_connectors_registers_is_a_usage_error()
    {
        // the fixture's connectors have no learnable registers (LTX-2's have 128): a copy with 16; diffusers' connectors
        // raise a ValueError for a length not a multiple of them, and the connectors engine failed late
        string model = Path.Combine(Fixtures.TempDir("ltx2-registers"), "ltx2");
        Fixtures.CopyDirectory(Fixtures.Checkpoint("ltx2"), model);
        string config = Path.Combine(model, "connectors", "config.json");
        var json = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(config))!;
        json["video_connector_num_learnable_registers"] = JsonSerializer.SerializeToElement(16);
        json["audio_connector_num_learnable_registers"] = JsonSerializer.SerializeToElement(16);
        File.WriteAllText(config, JsonSerializer.Serialize(json));
        var run = CliRun.Of(["generate", "--model", model, "--prompt", "waves", "--height", "32", "--width", "32",
            "--frames", "9", "--steps", "2", "--max-sequence-length", "100", "--engine-cache", Fixtures.TempDir("cache"),
            "--output", Path.Combine(Fixtures.TempDir("err"), "o"), "--format", "png"]);
        Assert.True(run.Rc == 2, $"exit {run.Rc}: {run.Err}");
        Assert.Contains("max_sequence_length: max_sequence_length must be a multiple of 16 (the text connectors' learnable registers, video_connector_num_learnable_registers), got 100", run.Err);
        Assert.False(run.Generated, "the request should be refused before the prompt is encoded");
    }

    [ConformanceTheory]
    [InlineData("wan21_t2v", "--stg-scale", "1", "stg_scale: WanPipeline takes no stg_scale: it is an LTX-2 (audio-video) argument")]
    [InlineData("flux1", "--use-cross-timestep", "false", "use_cross_timestep: FluxPipeline takes no use_cross_timestep")]
    [InlineData("qwenimage", "--audio-guidance-scale", "2", "audio_guidance_scale: QwenImagePipeline takes no audio_guidance_scale")]
    public void Other_families_refuse_ltx2_arguments_by_name(string family, string flag, string value, string message)
    {
        var run = CliRun.Of(["generate", "--model", Fixtures.Checkpoint(family), "--prompt", "waves", "--steps", "1",
            "--engine-cache", ConformancePipelines.CacheDir, "--output", Path.Combine(Fixtures.TempDir("err"), "o"), "--format", "png", flag, value]);
        Assert.NotEqual(0, run.Rc);
        Assert.Contains(message, run.Err);
        Assert.False(run.Generated);
    }
}
