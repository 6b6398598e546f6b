using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Schedulers;

namespace VisualGen.Tests.Schedulers;

/// <summary>
/// UniPC steps against a reference written independently of the implementation: the order-1 update in its DDIM
/// form (no logs or expm1), the phi functions in closed form, the 2×2 corrector system by Cramer's rule, all in
/// float64, driven by a known linear "model" v(x) = a·x + c.
/// </summary>
public class UniPCStepTests
{
    static ComponentConfig Config(string solverType, string disableCorrector = "[]", double flowShift = 3.0) =>
        ComponentConfig.FromElement("test config", JsonDocument.Parse($$"""
            { "_class_name": "UniPCMultistepScheduler", "num_train_timesteps": 1000, "solver_order": 2,
              "prediction_type": "flow_prediction", "predict_x0": true, "solver_type": "{{solverType}}",
              "lower_order_final": true, "disable_corrector": {{disableCorrector}}, "final_sigmas_type": "zero",
              "use_flow_sigmas": true, "flow_shift": {{flowShift}}, "timestep_spacing": "linspace",
              "use_dynamic_shifting": false, "thresholding": false, "solver_p": null }
            """).RootElement);

    static readonly double[] X0 = [0.8, -1.3, 0.25, 2.0, -0.6];
    static readonly double[] C = [0.1, 0.3, -0.2, 0.05, -0.4];
    const double A = -0.7;
    static double V(double x, int j) => A * x + C[j];

    // The reference, element by element. s = sigma, a = 1 − s, lambda = log(a/s).
    static double Lam(double s) => Math.Log((1 - s) / s);
    static double Ddim(double st, double ss, double x, double m0) => st / ss * x + ((1 - st) - st * (1 - ss) / ss) * m0;
    static double B(string type, double hh) => type == "bh1" ? hh : Math.Exp(hh) - 1;

    static double[][] Reference(string type, double[] s, int steps, bool correctAfterStep0)
    {
        var outs = new double[steps][];
        for (int j = 0; j < X0.Length; j++)
        {
            // step 0: order 1, no corrector.
            double x = X0[j];
            double m_0 = x - s[0] * V(x, j);
            double x1 = Ddim(s[1], s[0], x, m_0);
            // step 1: order-1 corrector (rho = 1/2) on x1, then order-2 predictor (rho = 1/2).
            double m_1 = x1 - s[1] * V(x1, j);
            double h01 = Lam(s[1]) - Lam(s[0]);
            double x1c = correctAfterStep0 ? x1 - (1 - s[1]) * B(type, -h01) * 0.5 * (m_1 - m_0) : x1;
            double h12 = Lam(s[2]) - Lam(s[1]);
            double r = (Lam(s[0]) - Lam(s[1])) / h12;
            double x2 = Ddim(s[2], s[1], x1c, m_1) - (1 - s[2]) * B(type, -h12) * 0.5 * (m_0 - m_1) / r;
            // step 2: order-2 corrector on x1c → x2, then the last step (order 1, sigma 0) returns x0.
            double m_2 = x2 - s[2] * V(x2, j);
            double z = -h12, bz = B(type, z);
            double b1 = (Math.Exp(z) - 1 - z) / z / bz;                       // h·phi_2·1!/B
            double b2 = 2 * (Math.Exp(z) - 1 - z - z * z / 2) / (z * z) / bz;  // h·phi_3·2!/B
            double a1 = (b1 - b2) / (1 - r), a2 = (b2 - r * b1) / (1 - r);    // [1 1; r 1]·a = b
            double x2c = Ddim(s[2], s[1], x1c, m_1) - (1 - s[2]) * bz * (a1 * (m_0 - m_1) / r + a2 * (m_2 - m_1));
            double x3 = Ddim(s[3], s[2], x2c, m_2);
            double[] row = [x1, x2, x3];
            for (int k = 0; k < steps; k++) (outs[k] ??= new double[X0.Length])[j] = row[k];
        }
        return outs;
    }

    [Theory]
    [InlineData("bh2", "[]", true)]
    [InlineData("bh1", "[]", true)]
    [InlineData("bh2", "[0]", false)]
    public void ThreeStepLoopMatchesHandDerivedUpdates(string solverType, string disable, bool correctAfterStep0)
    {
        var scheduler = SchedulerRegistry.Default.Create(Config(solverType, disable));
        scheduler.SetTimesteps(3);
        var s = scheduler.Sigmas.ToArray();
        Assert.Equal(0.0, s[3]);
        var reference = Reference(solverType, s, 3, correctAfterStep0);

        var x = X0.Select(v => (float)v).ToArray();
        var v = new float[x.Length];
        for (int k = 0; k < 3; k++)
        {
            for (int j = 0; j < x.Length; j++) v[j] = (float)V(x[j], j);
            scheduler.Step(v, k, x, x);   // in place, as the loop does
            for (int j = 0; j < x.Length; j++)
                Assert.True(Math.Abs(x[j] - reference[k][j]) <= 2e-6 * Math.Max(1, Math.Abs(reference[k][j])),
                    $"step {k} element {j}: {x[j]} vs reference {reference[k][j]}");
        }
    }

    [Fact]
    public void CorrectorChangesTheTrajectory()
    {
        // Guards the test above against a corrector that does nothing: disabling it must move step 1's result.
        float[] Run(string disable)
        {
            var sch = SchedulerRegistry.Default.Create(Config("bh2", disable));
            sch.SetTimesteps(3);
            var x = X0.Select(v => (float)v).ToArray();
            for (int k = 0; k < 2; k++) x = sch.Step(x.Select((xi, j) => (float)V(xi, j)).ToArray(), k, x);
            return x;
        }
        var a = Run("[]"); var b = Run("[0]");
        Assert.True(a.Zip(b).Max(p => Math.Abs(p.First - p.Second)) > 1e-3);
    }

    [Fact]
    public void SetTimestepsResetsTheHistory()
    {
        var sch = SchedulerRegistry.Default.Create(Config("bh2"));
        float[] Loop()
        {
            sch.SetTimesteps(3);
            var x = X0.Select(v => (float)v).ToArray();
            for (int k = 0; k < 3; k++) x = sch.Step(x.Select((xi, j) => (float)V(xi, j)).ToArray(), k, x);
            return x;
        }
        Assert.Equal(Loop(), Loop());
    }

    [Fact]
    public void StepsOutOfOrderAreRefused()
    {
        var sch = SchedulerRegistry.Default.Create(Config("bh2"));
        var x = new float[3];
        Assert.Contains("before SetTimesteps", Assert.Throws<SchedulerException>(() => sch.Step(x, 0, x)).Message);
        sch.SetTimesteps(3);
        sch.Step(x, 0, x);
        Assert.Contains("expected 1", Assert.Throws<SchedulerException>(() => sch.Step(x, 2, x)).Message);
        Assert.Contains("lengths differ", Assert.Throws<SchedulerException>(() => sch.Step(new float[2], 1, x)).Message);
    }

    [Fact]
    public void ShiftOverrideReplacesFlowShift()
    {
        var a = SchedulerRegistry.Default.Create(Config("bh2", flowShift: 5.0));
        var b = SchedulerRegistry.Default.Create(Config("bh2", flowShift: 3.0), shift: 5.0);
        a.SetTimesteps(4); b.SetTimesteps(4);
        Assert.Equal(a.Sigmas, b.Sigmas);
        // flow_shift 5, 4 steps: shift(0.75025) = 5·0.75025/(1 + 4·0.75025), float64 then float32.
        Assert.Equal((float)(5 * 0.75025 / (1 + 4 * 0.75025)), (float)b.Sigmas[1]);
    }

    [Fact]
    public void Released_state_must_be_set_up_again_before_stepping()
    {
        IScheduler sch = new UniPCMultistepScheduler(new UniPCMultistepOptions());
        sch.SetTimesteps(4);
        var x = new float[] { 0.5f, -1f, 2f };
        var first = sch.Step(new float[] { 0.1f, 0.2f, 0.3f }, 0, x);
        sch.ReleaseState();
        var e = Assert.Throws<SchedulerException>(() => sch.Step(new float[] { 0.1f, 0.2f, 0.3f }, 1, first));
        Assert.Contains("call SetTimesteps to start again", e.Message);
        sch.SetTimesteps(4);
        Assert.Equal(first, sch.Step(new float[] { 0.1f, 0.2f, 0.3f }, 0, x));
    }
}
