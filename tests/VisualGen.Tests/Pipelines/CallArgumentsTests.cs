using VisualGen.Checkpoints;
using VisualGen.Cli;
using VisualGen.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>The table of call arguments against what the pipelines do: each family refuses, by name, every argument it
/// does not list in <see cref="PipelineInfo.Arguments"/>, and refuses none that it lists.</summary>
public class CallArgumentsTests
{
    static readonly GenerationRequest Plain = new() { Prompt = "a fox", Height = 32, Width = 32 };

    /// <summary>The request with one argument set to a value its pipeline would accept.</summary>
    static GenerationRequest With(GenerationRequest r, CallArgument a) => a.Name switch
    {
        "negative_prompt" => r with { NegativePrompt = "blurry" },
        "num_frames" => r with { NumFrames = 9 },
        "guidance_scale" => r with { GuidanceScale = 3 },
        "guidance_scale_2" => r with { GuidanceScale2 = 2 },
        "true_cfg_scale" => r with { TrueCfgScale = 2 },
        "max_sequence_length" => r with { MaxSequenceLength = 8 },
        "fps" => r with { Fps = 12 },
        "max_area" => r with { MaxArea = 32 * 32 },
        "strength" => r with { Strength = 0.5 },
        "image" => r with { Image = Fixtures.RandomImage(32, 32, 1) },
        "last_image" => r with { LastImage = Fixtures.RandomImage(32, 32, 2) },
        "mask_image" => r with { MaskImage = Fixtures.RandomImage(32, 32, 3) },
        "stg_scale" => r with { StgScale = 1 },
        "modality_scale" => r with { ModalityScale = 1 },
        "guidance_rescale" => r with { GuidanceRescale = 0.5 },
        "audio_guidance_scale" => r with { AudioGuidanceScale = 2 },
        "audio_stg_scale" => r with { AudioStgScale = 1 },
        "audio_modality_scale" => r with { AudioModalityScale = 1 },
        "audio_guidance_rescale" => r with { AudioGuidanceRescale = 0.5 },
        "spatio_temporal_guidance_blocks" => r with { SpatioTemporalGuidanceBlocks = [0] },
        "use_cross_timestep" => r with { UseCrossTimestep = true },
        "audio_latents" => r with { AudioLatents = Tensors.HostTensor.Zeros(1, 1, 1, 1) },
        _ => throw new ArgumentException($"no value for {a.Name}: add it here"),
    };

    [Fact]
    public void Each_argument_is_seen_set_alone()
    {
        foreach (var a in CallArguments.All)
        {
            var r = With(Plain, a);
            Assert.Equal([a.Name], CallArguments.All.Where(b => b.IsSet(r)).Select(b => b.Name));
        }
        Assert.Equal(CallArguments.All.Count, CallArguments.All.Select(a => a.Name).Distinct().Count());
        // an image pipeline takes num_frames 1
        Assert.False(CallArguments.NumFrames.IsSet(Plain with { NumFrames = 1 }));
    }

    [ConformanceTheory]
    [InlineData("wan21_t2v", "--negative-prompt --frames --guidance-scale --max-sequence-length --shift")]
    [InlineData("wan21_i2v", "--negative-prompt --frames --guidance-scale --max-sequence-length --image --last-image --shift")]
    [InlineData("wan22_ti2v_5b", "--negative-prompt --frames --guidance-scale --max-sequence-length --image --shift")]
    [InlineData("wan22_t2v_a14b", "--negative-prompt --frames --guidance-scale --max-sequence-length --guidance-scale-2 --shift")]
    [InlineData("wan22_i2v_a14b", "--negative-prompt --frames --guidance-scale --max-sequence-length --guidance-scale-2 --image --last-image --shift")]
    [InlineData("flux1", "--negative-prompt --guidance-scale --true-cfg-scale --max-sequence-length --image --strength --mask-image")]
    [InlineData("kontext", "--negative-prompt --guidance-scale --true-cfg-scale --max-sequence-length --image --max-area")]
    [InlineData("flux2", "--guidance-scale --max-sequence-length --image")]
    [InlineData("qwenimage", "--negative-prompt --true-cfg-scale --max-sequence-length --image --strength --mask-image")]
    [InlineData("cosmos3_t2v", "--negative-prompt --frames --guidance-scale --fps --image --shift")]
    [InlineData("ltx2", "--negative-prompt --frames --guidance-scale --max-sequence-length --fps --stg-scale --modality-scale " +
        "--guidance-rescale --audio-guidance-scale --audio-stg-scale --audio-modality-scale --audio-guidance-rescale " +
        "--spatio-temporal-guidance-blocks --use-cross-timestep --latents (audio_latents)")]
    public void A_pipeline_refuses_by_name_each_argument_it_does_not_take_and_info_lists_the_others(string family, string takes)
    {
        string model = family == "kontext" ? FluxKontextTests.KontextCheckpoint() : Fixtures.Checkpoint(family);
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(model, provider);
        foreach (var a in CallArguments.All)
        {
            var e = Record.Exception(() => pipeline.Validate(With(Plain, a)));
            if (pipeline.Info.Takes(a))
                Assert.DoesNotContain($"takes no {a.Name}", e?.Message ?? "");
            else
            {
                var refused = Assert.IsType<GenerationException>(e);
                Assert.Equal(a.Name, refused.Parameter);
                Assert.StartsWith($"{pipeline.Info.ClassName} takes no {a.Name}: ", refused.Message);
            }
        }

        // the arguments every family takes follow one rule (CommonArguments)
        foreach (var (bad, name) in new[] { (Plain with { Seed = -1 }, "seed"), (Plain with { NumInferenceSteps = 1001 }, "num_inference_steps"), (Plain with { Prompt = " " }, "prompt"),
            (Plain with { Latents = Tensors.HostTensor.Float32([float.NaN], 1) }, "latents") })
            Assert.Equal(name, Assert.IsType<GenerationException>(Record.Exception(() => pipeline.Validate(bad))).Parameter);

        // shift replaces the scheduler's unless it shifts by the image size (use_dynamic_shifting), and info says which
        var shift = Record.Exception(() => pipeline.Validate(Plain with { Shift = 3 }));
        if (pipeline.Info.TakesShift) Assert.NotEqual("shift", (shift as GenerationException)?.Parameter);   // (an image-to-video one wants its image)
        else Assert.Equal("shift", Assert.IsType<GenerationException>(shift).Parameter);

        var output = new StringWriter();
        Assert.Equal(0, CliApp.Run(["info", "--model", model], output, new StringWriter()));
        Assert.Contains($"takes      {takes}\n", output.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void The_arguments_every_pipeline_takes_are_checked_by_one_rule()
    {
        CommonArguments.Check(Plain with { Seed = 0 }, 1);
        CommonArguments.Check(Plain with { Seed = long.MaxValue }, CommonArguments.MaxSteps);
        var seed = Assert.Throws<GenerationException>(() => CommonArguments.Check(Plain with { Seed = -1 }, 20));
        Assert.Equal("seed", seed.Parameter);
        Assert.Contains("seed must be 0 or more", seed.Message);
        Assert.Equal("num_inference_steps", Assert.Throws<GenerationException>(() => CommonArguments.Check(Plain, 0)).Parameter);
        Assert.Equal("num_inference_steps", Assert.Throws<GenerationException>(() => CommonArguments.Check(Plain, 1001)).Parameter);
        Assert.Equal("prompt", Assert.Throws<GenerationException>(() => CommonArguments.Check(Plain with { Prompt = "\t" }, 20)).Parameter);
        CommonArguments.Check(Plain with { Latents = Tensors.HostTensor.Float32([0f, -3f, 1e30f], 1, 3) }, 20);
        var nan = Assert.Throws<GenerationException>(() => CommonArguments.Check(Plain with { Latents = Tensors.HostTensor.Float32([0f, float.NaN, 1f], 1, 3) }, 20));
        Assert.Equal(("latents", "latents must be finite; element 1 of [1, 3] is NaN"), (nan.Parameter, nan.Message));
        var inf = Assert.Throws<GenerationException>(() => CommonArguments.Check(Plain with { AudioLatents = Tensors.HostTensor.Float32([float.NegativeInfinity], 1, 1, 1, 1) }, 20));
        Assert.Equal(("audio_latents", "audio_latents must be finite; element 0 of [1, 1, 1, 1] is -Infinity"), (inf.Parameter, inf.Message));
    }

    [Fact]
    public void Each_argument_has_a_generate_flag()
    {
        foreach (var a in CallArguments.All)
            Assert.Contains(InfoCommand.Flag(a).Split(' ')[0].TrimStart('-'), GenerateCommand.Flags);
    }
}
