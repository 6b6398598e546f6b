using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// TeaCache on FLUX.1 (embedded guidance, one call per step) and Qwen-Image (true CFG: two calls per step, one cache
/// state each): the compared tensor (the transformer's time_embedding part) against a float64 computation from the
/// checkpoint's weights, threshold 0 giving exactly the uncached pipeline (the fixture's goldens), and a constant
/// rescaling polynomial giving the skip pattern the rule implies.
/// </summary>
public class TeaCacheImageFamiliesTests
{
    [ConformanceTheory]
    [InlineData("flux1")]
    [InlineData("qwenimage")]
    public void Image_families_cache_steps_by_the_teacache_rule(string family)
    {
        using var golden = Fixtures.Golden(family);
        var request = ConformancePipelines.RequestFromGolden(family, golden);
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint(family), provider);

        var exact = pipeline.GenerateAsync(request with { TeaCache = new TeaCacheOptions(0) }).GetAwaiter().GetResult();
        Assert.Equal([true, true, true], exact.StepCache!.Computed);
        ConformancePipelines.AssertMatchesGolden(family, exact);

        // poly = 1 → the accumulator counts steps: compute, skip, skip, compute (3 ≥ 2.5), skip, compute (last)
        var six = request with { NumInferenceSteps = 6, Latents = null, Seed = 5 };
        var plain = pipeline.GenerateAsync(six).GetAwaiter().GetResult();
        var cached = pipeline.GenerateAsync(six with { TeaCache = new TeaCacheOptions(2.5, [1.0]) }).GetAwaiter().GetResult();
        Assert.Equal([true, false, false, true, false, true], cached.StepCache!.Computed);
        Assert.All(cached.Output.Floats, v => Assert.True(float.IsFinite(v)));
        Assert.True(Compare.MaxAbs(plain.Latents.Floats, cached.Latents.Floats) > 0, "skipped steps changed nothing");

        // the compared tensor: sinusoid(t·1000) → timestep_embedder (+ guidance_embedder for FLUX.1-dev), in float64
        const float t = 0.75f;
        var timestep = HostTensor.Float32([t], 1);
        var inputs = new Dictionary<string, HostTensor> { ["timestep"] = timestep };
        double? guidance = family == "flux1" ? request.GuidanceScale : null;
        if (guidance is double g) inputs["guidance"] = HostTensor.Float32([(float)g / 1000f], 1);
        var temb = provider.GetEngine(Fixtures.Checkpoint(family), "transformer.time_embedding", null).Run(inputs)["temb"];
        using var weights = SafeTensorsFile.Open(Path.Combine(Fixtures.Checkpoint(family), "transformer", "diffusion_pytorch_model.safetensors"));
        var expected = Embedder(weights, "time_text_embed.timestep_embedder", t * 1000.0);
        if (guidance is double gs)
            expected = expected.Zip(Embedder(weights, "time_text_embed.guidance_embedder", (float)gs / 1000f * 1000.0), (a, b) => a + b).ToArray();
        Compare.Component(expected.Select(v => (float)v).ToArray(), temb.Floats, $"{family} time embedding");
    }

    /// <summary>linear_2(silu(linear_1([cos(t·f), sin(t·f)]))), f_i = exp(−ln(10000)·i/128), in float64.</summary>
    static double[] Embedder(SafeTensorsFile w, string prefix, double t)
    {
        const int half = 128;
        var x = new double[2 * half];
        for (int i = 0; i < half; i++)
        {
            double arg = t * Math.Exp(-Math.Log(10000) * i / half);
            x[i] = Math.Cos(arg);
            x[half + i] = Math.Sin(arg);
        }
        var h = Linear(w, prefix + ".linear_1", x).Select(v => v / (1 + Math.Exp(-v))).ToArray();
        return Linear(w, prefix + ".linear_2", h);
    }

    static double[] Linear(SafeTensorsFile w, string name, double[] x)
    {
        var weight = w.ReadFloat32(name + ".weight");
        var bias = w.ReadFloat32(name + ".bias");
        var y = new double[bias.Length];
        for (int o = 0; o < y.Length; o++)
        {
            double s = bias[o];
            for (int i = 0; i < x.Length; i++) s += weight[o * x.Length + i] * x[i];
            y[o] = s;
        }
        return y;
    }
}
