using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>Arguments a family would not read are refused, not ignored: a shift on a scheduler with dynamic shifting
/// (FLUX.1, FLUX.2, Qwen-Image, LTX-2 used to run unshifted without a word), FLUX.1's guidance_scale_2, and a Wan
/// guidance_scale_2 without A14B's two experts.</summary>
public class IgnoredArgumentTests
{
    static ComponentConfig Scheduler(bool dynamic, string terminal = "null") => ComponentConfig.FromElement("scheduler_config.json",
        JsonDocument.Parse($"{{\"_class_name\": \"FlowMatchEulerDiscreteScheduler\", \"shift\": 3.0, \"use_dynamic_shifting\": {(dynamic ? "true" : "false")}, \"shift_terminal\": {terminal}}}").RootElement);

    [Fact]
    public void A_shift_is_refused_only_where_the_scheduler_shifts_by_the_image_size()
    {
        var plain = new GenerationRequest { Prompt = "a fox" };
        SchedulerShift.Check(plain, Scheduler(true), "FLUX.1", 28);
        SchedulerShift.Check(plain with { Shift = 5 }, Scheduler(false), "Wan", 50);
        var e = Assert.Throws<GenerationException>(() => SchedulerShift.Check(plain with { Shift = 5 }, Scheduler(true), "FLUX.1", 28));
        Assert.Equal("shift", e.Parameter);
        Assert.Contains("FLUX.1's scheduler shifts its sigmas by the image size", e.Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void A_shift_that_is_not_a_positive_number_is_refused_with_the_request(double shift)
    {
        var e = Assert.Throws<GenerationException>(() =>
            SchedulerShift.Check(new GenerationRequest { Prompt = "a fox", Shift = shift }, Scheduler(false), "Wan", 50));
        Assert.Equal("shift", e.Parameter);
        Assert.Contains($"shift must be a positive number, got {shift}", e.Message);
    }

    [Fact]
    public void One_step_is_refused_where_the_scheduler_stretches_to_a_shift_terminal()
    {
        var plain = new GenerationRequest { Prompt = "a fox" };
        SchedulerShift.Check(plain, Scheduler(true), "FLUX.1", 1);
        SchedulerShift.Check(plain, Scheduler(true, "0"), "FLUX.1", 1);
        SchedulerShift.Check(plain, Scheduler(true, "0.1"), "LTX-2", 2);
        var e = Assert.Throws<GenerationException>(() => SchedulerShift.Check(plain, Scheduler(true, "0.1"), "LTX-2", 1));
        Assert.Equal("num_inference_steps", e.Parameter);
        Assert.Contains("shift_terminal 0.1", e.Message);
        // what it prevents: the scheduler cannot make one step's schedule end at the terminal
        var scheduler = new VisualGen.Schedulers.FlowMatchEulerDiscreteScheduler(Scheduler(false, "0.1"));
        Assert.Throws<VisualGen.Schedulers.SchedulerException>(() => scheduler.SetTimesteps(1));
    }

    [ConformanceTheory]
    [InlineData("flux1", true)]
    [InlineData("flux2", true)]
    [InlineData("qwenimage", true)]
    [InlineData("ltx2", true)]
    [InlineData("wan21_t2v", false)]
    [InlineData("cosmos3_t2i", false)]
    public void Pipelines_refuse_a_shift_their_scheduler_would_not_read(string family, bool refused) =>
        Expect(family, r => r with { Shift = 2.5 }, refused ? "shift" : null);

    [ConformanceTheory]
    [InlineData("wan21_t2v", true)]
    [InlineData("wan22_ti2v_5b", true)]
    [InlineData("wan22_t2v_a14b", false)]
    public void Wan_takes_guidance_scale_2_only_with_two_experts(string family, bool refused) =>
        // diffusers' check_inputs raises for guidance_scale_2 without a boundary_ratio
        Expect(family, r => r with { GuidanceScale2 = 3 }, refused ? "guidance_scale_2" : null);

    [ConformanceFact]
    public void Ltx2_refuses_a_video_no_host_array_can_hold()
    {
        // 4096² × 121 frames: 6.1e9 values of output (the fixture's VAE compresses space by 2: the coordinates overflowed first)
        var e = Assert.Throws<GenerationException>(() => ConformancePipelines.Validate("ltx2", r => r with { Height = 4096, Width = 4096, NumFrames = 121 }));
        Assert.Equal("height", e.Parameter);
        Assert.Contains("4096x4096x121 is larger than this pipeline can hold", e.Message);
        // (256x256x9 is 81,920 tokens on the fixture: too many for its scheduler's shift, refused as well since it cannot run)
        ConformancePipelines.Validate("ltx2", r => r with { Height = 64, Width = 64, NumFrames = 9, Latents = null, AudioLatents = null });
    }

    [ConformanceFact]
    public void Flux_refuses_guidance_scale_2() => Expect("flux1", r => r with { GuidanceScale2 = 3 }, "guidance_scale_2");

    /// <summary>The fixture's request, changed, is refused naming <paramref name="refused"/>, or (null) accepted.</summary>
    static void Expect(string family, Func<GenerationRequest, GenerationRequest> change, string? refused)
    {
        if (refused is null) { ConformancePipelines.Validate(family, change); return; }
        Assert.Equal(refused, Assert.Throws<GenerationException>(() => ConformancePipelines.Validate(family, change)).Parameter);
    }
}
