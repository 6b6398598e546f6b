using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Schedulers;

namespace VisualGen.Tests.Schedulers;

public class FlowMatchEulerTests
{
    static ComponentConfig Config(string extra = "") =>
        ComponentConfig.FromElement("test config", JsonDocument.Parse(
            $$"""{ "_class_name": "FlowMatchEulerDiscreteScheduler", "shift": 5.0 {{extra}} }""").RootElement);

    [Fact]
    public void StepIsEulerOnTheFloat32Sigmas()
    {
        var sch = new FlowMatchEulerDiscreteScheduler(Config());
        sch.SetTimesteps(3);
        float[] x = [1f, -2f, 0.5f], v = [0.3f, 0.1f, -1f];
        for (int k = 0; k < 3; k++)
        {
            var next = ((IScheduler)sch).Step(v, k, x);
            float dt = (float)sch.Sigmas[k + 1] - (float)sch.Sigmas[k];
            for (int j = 0; j < 3; j++) Assert.Equal(x[j] + dt * v[j], next[j]);
            x = next;
        }
    }

    [Fact]
    public void StaticShiftIsAppliedTwiceAsInDiffusers()
    {
        // diffusers: the training table is shifted (sigma_min = shift(0.001)), set_timesteps spaces between its
        // ends and shifts again. Reference written out in float64 for 3 steps.
        var sch = new FlowMatchEulerDiscreteScheduler(Config());
        sch.SetTimesteps(3);
        double sMin = (float)(5 * (double)0.001f / (1 + 4 * (double)0.001f));
        double mid = (1 + sMin) / 2;
        double[] expected = [1, 5 * mid / (1 + 4 * mid), 5 * sMin / (1 + 4 * sMin), 0];
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], sch.Sigmas[i], 6);
    }

    [Fact]
    public void DynamicShiftingNeedsMu()
    {
        var sch = new FlowMatchEulerDiscreteScheduler(Config(""", "use_dynamic_shifting": true"""));
        Assert.Contains("mu", Assert.Throws<SchedulerException>(() => sch.SetTimesteps(4)).Message);
        sch.SetTimesteps(4, mu: 0.0);   // e^0 / (e^0 + 1/t − 1) = t: linspace(1, 0.001, 4)
        Assert.Equal(FlowSigmas.Linspace(1, 0.001, 4).Select(x => (double)(float)x), sch.Sigmas.Take(4));
    }

    [Fact]
    public void CalculateShiftIsTheLineThroughBaseAndMax()
    {
        Assert.Equal(0.5, FlowSigmas.CalculateShift(256), 12);
        Assert.Equal(1.15, FlowSigmas.CalculateShift(4096), 12);
        Assert.Equal(0.5 + 0.65 * (1000 - 256) / 3840.0, FlowSigmas.CalculateShift(1000), 12);
    }

    [Theory]
    [InlineData("use_karras_sigmas")]
    [InlineData("use_exponential_sigmas")]
    [InlineData("use_beta_sigmas")]
    [InlineData("stochastic_sampling")]
    public void UnsupportedOptionsAreNamed(string key)
    {
        var e = Assert.Throws<CheckpointException>(() => new FlowMatchEulerDiscreteScheduler(Config($", \"{key}\": true")));
        Assert.Equal($"test config: key '{key}': true is not supported (VisualGen implements only false)", e.Message);
    }

    [Fact]
    public void UnknownSchedulerAndBadValuesAreNamed()
    {
        var cfg = ComponentConfig.FromElement("x.json", JsonDocument.Parse("""{ "_class_name": "DDIMScheduler" }""").RootElement);
        Assert.Equal("x.json: key '_class_name': \"DDIMScheduler\" is not supported (supported schedulers: FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler)",
            Assert.Throws<CheckpointException>(() => SchedulerRegistry.Default.Create(cfg)).Message);
        var e = Assert.Throws<CheckpointException>(() => new FlowMatchEulerDiscreteScheduler(Config(""", "time_shift_type": "cosine" """)));
        Assert.Equal("test config: key 'time_shift_type': \"cosine\" is not supported (supported: exponential, linear)", e.Message);
        var u = ComponentConfig.FromElement("u.json", JsonDocument.Parse(
            """{ "_class_name": "UniPCMultistepScheduler", "prediction_type": "flow_prediction", "use_flow_sigmas": false }""").RootElement);
        var ue = Assert.Throws<CheckpointException>(() => SchedulerRegistry.Default.Create(u));
        Assert.Contains("use_flow_sigmas", ue.Message); Assert.Contains("u.json", ue.Message);
    }

    [Fact]
    public void Expm1IsAccurateNearZeroAndAtMinusInfinity()
    {
        Assert.True(Math.Abs(FlowSigmas.Expm1(1e-10) / (1e-10 + 5e-21) - 1) < 1e-15);
        Assert.Equal(-1, FlowSigmas.Expm1(double.NegativeInfinity));
        Assert.Equal(Math.E - 1, FlowSigmas.Expm1(1), 14);
    }

    [Fact]
    public void A_single_step_cannot_be_stretched_to_a_terminal_sigma()
    {
        var sch = new FlowMatchEulerDiscreteScheduler(Config(""", "shift_terminal": 0.1"""));
        var e = Assert.Throws<SchedulerException>(() => sch.SetTimesteps(1));
        Assert.StartsWith("num_inference_steps: a schedule whose last sigma is 1 (a single step) cannot be stretched to shift_terminal 0.1", e.Message);
        sch.SetTimesteps(2);   // two steps stretch: the last sigma becomes the terminal one
        Assert.Equal(0.1, sch.Sigmas[1], 6);
    }
}
