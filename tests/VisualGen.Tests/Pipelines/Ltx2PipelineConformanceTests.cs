using VisualGen.Checkpoints;
using VisualGen.Exporter.Export;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Ltx2;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

/// <summary>LTX2Pipeline against diffusers: what the pipeline prepares for the first transformer call (RoPE
/// coordinates, packed and normalized audio latents, schedule), the transformer call kinds it asks the exporter for,
/// and the whole pipeline through the public API (video latents and frames, audio latents and waveform).</summary>
public class Ltx2PipelineConformanceTests(ITestOutputHelper output)
{
    [ConformanceFact]
    public void Pipeline_matches_diffusers_goldens()
    {
        var result = ConformancePipelines.Run("ltx2");
        using var golden = Fixtures.Golden("ltx2");
        foreach (var (name, got) in new[] { ("pipeline.latents_final", result.Latents), ("pipeline.output", result.Output),
                     ("pipeline.audio_latents_final", result.AudioLatents!), ("pipeline.audio", result.Audio!) })
        {
            var expected = HostTensor.FromSource(golden, name);
            output.WriteLine($"{name}: max abs {Compare.MaxAbs(expected.Floats, got.Floats):g3}, cosine {Compare.Cosine(expected.Floats, got.Floats):f7}");
        }
        ConformancePipelines.AssertMatchesGolden("ltx2", result);
        Assert.True(result.IsVideo);
        Assert.Equal(24, result.FramesPerSecond);
        Assert.Equal(16000, result.AudioSampleRate);
    }

    [ConformanceFact]
    public void A_size_whose_shift_leaves_no_schedule_is_refused_by_Validate_naming_the_size()
    {
        // 128x128 with 33 frames is 69,632 tokens on the tiny fixture (VAE compression 2): mu ≈ 25.5 puts every sigma
        // at 1 in float32. It passed Validate and failed once the prompt was encoded, with "a schedule whose last sigma
        // is 1 (a single step) ... use 2 or more steps" for a 5-step request (a server job failed after its wait)
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("ltx2"), provider);
        var request = new GenerationRequest { Prompt = "waves", Height = 128, Width = 128, NumFrames = 33, NumInferenceSteps = 5 };
        var e = Assert.Throws<GenerationException>(() => pipeline.Validate(request));
        Assert.Equal("height", e.Parameter);
        Assert.Contains("128x128 with 33 frames", e.Message);
        Assert.Contains("smaller size or fewer frames", e.Message);
        pipeline.Validate(request with { Height = 64, Width = 64, NumFrames = 17 });   // one that runs is still taken
    }

    [ConformanceFact]
    public void A_request_run_twice_gives_the_same_result_and_stays_as_given()
    {
        using var golden = Fixtures.Golden("ltx2");
        var request = ConformancePipelines.RequestFromGolden("ltx2", golden);
        var latentsBefore = (float[])request.Latents!.Floats.Clone();
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("ltx2"), provider);
        var first = pipeline.GenerateAsync(request).GetAwaiter().GetResult();
        Assert.Equal(latentsBefore, request.Latents.Floats);   // the pipeline stepped a copy, not the caller's latents
        var second = pipeline.GenerateAsync(request).GetAwaiter().GetResult();
        Assert.Equal(first.Latents.Floats, second.Latents.Floats);
        Assert.Equal(first.AudioLatents!.Floats, second.AudioLatents!.Floats);
    }

    [ConformanceFact]
    public void Rope_coordinates_match_the_first_transformer_call()
    {
        using var golden = Fixtures.Golden("ltx2");
        var c = Ltx2TransformerConfig.Read(Path.Combine(Fixtures.Checkpoint("ltx2"), "transformer"));
        var video = Ltx2Latents.VideoCoords(2, 5, 16, 16, c.PatchSize, c.PatchSizeT, c.VaeScaleFactors, c.CausalOffset, 24f);
        var audio = Ltx2Latents.AudioCoords(2, 9, c.AudioPatchSizeT, c.AudioScaleFactor, c.CausalOffset, c.AudioHopLength, c.AudioSamplingRate);
        var expectedVideo = HostTensor.FromSource(golden, "transformer.in.video_coords");
        var expectedAudio = HostTensor.FromSource(golden, "transformer.in.audio_coords");
        Assert.Equal(expectedVideo.Shape, video.Shape);
        Assert.Equal(expectedAudio.Shape, audio.Shape);
        Assert.Equal(0.0, Compare.MaxAbs(expectedVideo.Floats, video.Floats));
        Assert.Equal(0.0, Compare.MaxAbs(expectedAudio.Floats, audio.Floats));
    }

    [ConformanceFact]
    public void Audio_latents_are_packed_and_normalized_as_the_transformer_sees_them()
    {
        using var golden = Fixtures.Golden("ltx2");
        using var weights = ComponentWeights.Open(Path.Combine(Fixtures.Checkpoint("ltx2"), "audio_vae"));
        var packed = Ltx2Latents.NormalizeLastAxis(Ltx2Latents.PackAudio(HostTensor.FromSource(golden, "pipeline.audio_latents_init")),
            weights.ReadFloat32("latents_mean"), weights.ReadFloat32("latents_std"));
        var seen = HostTensor.FromSource(golden, "transformer.in.audio_hidden_states");   // [2, 9, 4]: both CFG rows alike
        Assert.Equal([1, seen.Shape[1], seen.Shape[2]], packed.Shape);
        Assert.True(Compare.MaxAbs(seen.Floats.AsSpan(0, packed.Floats.Length), packed.Floats) <= 1e-6);
        // the video latents are passed packed and taken as they are
        var video = HostTensor.FromSource(golden, "transformer.in.hidden_states");
        Assert.Equal(HostTensor.FromSource(golden, "pipeline.latents_init").Floats, video.Floats.AsSpan(0, video.Floats.Length / 2).ToArray());
    }

    [ConformanceFact]
    public void Schedule_and_timestep_inputs_match()
    {
        using var golden = Fixtures.Golden("ltx2");
        var index = ModelIndex.Load(Fixtures.Checkpoint("ltx2"));
        var scheduler = Ltx2Pipeline.Schedule(index.LoadConfig("scheduler"), 5 * 16 * 16, 3);
        Assert.True(Compare.MaxAbs(golden.ReadFloat32("scheduler.timesteps"), scheduler.Timesteps.Select(t => (float)t).ToArray()) <= 1e-5);
        Assert.True(Compare.MaxAbs(golden.ReadFloat32("scheduler.sigmas"), scheduler.Sigmas.Select(t => (float)t).ToArray()) <= 1e-5);
        // timestep and sigma inputs: the scheduler's first timestep on both CFG rows
        float t0 = (float)scheduler.Timesteps[0];
        Assert.Equal([t0, t0], golden.ReadFloat32("transformer.in.timestep"));
        Assert.Equal([t0, t0], golden.ReadFloat32("transformer.in.sigma"));
    }

    /// <summary>The pipeline's extra calls name transformer parts the exporter traces with the right call kind.</summary>
    [ConformanceTheory]
    [InlineData("", "true", "false", "")]
    [InlineData("stg_1", "true", "false", "1")]
    [InlineData("isolated", "true", "true", "")]
    [InlineData("stg_0_1_no_cross_timestep", "false", "false", "0,1")]
    public void Transformer_call_kinds_are_traced_from_their_part_names(string part, string crossTimestep, string isolated, string blocks)
    {
        var index = ModelIndex.Load(Fixtures.Checkpoint("ltx2"));
        var exporter = ComponentExporterRegistry.CreateDefault().Get(index, "transformer");
        Assert.True(exporter.HasPart(part));
        string dir = index.ComponentDirectory("transformer");
        using var weights = ComponentWeights.Open(dir);
        var graph = exporter.Trace(new TraceContext(index, "transformer", dir, weights, part));
        Assert.Equal(crossTimestep, graph.Metadata["visualgen.use_cross_timestep"]);
        Assert.Equal(isolated, graph.Metadata["visualgen.isolate_modalities"]);
        Assert.Equal(blocks, graph.Metadata["visualgen.spatio_temporal_guidance_blocks"]);
    }

    [ConformanceFact]
    public void Transformer_refuses_part_names_no_call_has()
    {
        var index = ModelIndex.Load(Fixtures.Checkpoint("ltx2"));
        var exporter = ComponentExporterRegistry.CreateDefault().Get(index, "transformer");
        Assert.False(exporter.HasPart("blocks_1_0"));
        Assert.False(exporter.HasPart("embed_no_cross_timestep"));
        Assert.False(exporter.HasPart("stg_"));
        Assert.False(exporter.HasPart("cross"));
        // the main call's step-cache parts (Ltx2CacheLayout) and the call kinds
        Assert.True(exporter.HasPart("blocks_0_1"));
        Assert.True(exporter.HasPart("blocks_0_1_no_cross_timestep"));
        Assert.True(exporter.HasPart("isolated_no_cross_timestep"));
    }

    [ConformanceFact]
    public void Ltx2_checkpoint_is_detected_as_its_family()
    {
        var detected = ModelFamilies.CreateRegistry().Detect(Fixtures.Checkpoint("ltx2"));
        Assert.Equal("LTX2Pipeline", detected.ClassName);
        Assert.Equal("ltx2", detected.Family);
    }
}
