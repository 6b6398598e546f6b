using System.Diagnostics;
using VisualGen.Engines;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Flux;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using VisualGen.Tokenizers.Flux;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Whole pipelines on test-built checkpoints whose transformer has another configuration than the conformance fixture
/// (<see cref="OtherConfigurationCheckpoints"/>): FLUX.1-schnell's shape, FLUX.1-dev's with other sizes, Qwen-Image and
/// Wan 2.1 T2V. Each runs through the public API as a user would (registry → pipeline → GenerateAsync), which exports,
/// builds and runs every component; the output must have the requested shape, be finite and in [0, 1], and depend
/// on the seed deterministically. For schnell the denoising is also recomputed from the built transformer engine with
/// the schedule FLUX.1-schnell's scheduler config gives (sigmas 1, 1/2: shift 1.0, no dynamic shifting).
/// </summary>
public class OtherConfigurationPipelineTests(ITestOutputHelper output)
{
    const string Prompt = "a red fox in the snow";

    [ConformanceFact]
    public void Flux_schnell_shape_generates_without_guidance_embedding()
    {
        string dir = OtherConfigurationCheckpoints.FluxSchnell();
        using var cleanup = new DeletedOnDispose(dir);
        Assert.False(OtherConfigurationCheckpoints.TransformerConfig(dir).GetProperty("guidance_embeds").GetBoolean());
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider);
        Assert.Equal("FluxPipeline", pipeline.Info.ClassName);
        // as FLUX.1-schnell is run: few steps, max_sequence_length 256, guidance_scale 0
        var request = new GenerationRequest
        {
            Prompt = Prompt, Height = 32, Width = 48, NumInferenceSteps = 2, MaxSequenceLength = 256, GuidanceScale = 0.0, Seed = 1,
        };
        var first = Timed(pipeline, request, "flux schnell (export, build, run)");
        AssertImage(first, 32, 48);
        AssertSeedDeterminism(pipeline, request, first);

        // no guidance input in the built graph, so diffusers' ignoring of guidance_scale holds: any value, same output
        var transformer = provider.GetEngine(dir, "transformer", null);
        Assert.DoesNotContain(transformer.Manifest.Inputs, i => i.Name == "guidance");
        Assert.Contains(transformer.Manifest.Inputs, i => i.Name == "pooled_projections");
        foreach (double g in new[] { 3.5, 7.0 })
            Assert.Equal(first.Output.Floats, Generate(pipeline, request with { GuidanceScale = g }).Output.Floats);
        Assert.Equal(first.Output.Floats, Generate(pipeline, request with { GuidanceScale = null }).Output.Floats);

        // the schedule: sigmas linspace(1, 1/2, 2) unshifted (timesteps 1000, 500), Euler steps to sigma 0
        var latents = Gaussian(new Random(4), 1 * 6 * 16);
        var withLatents = Generate(pipeline, request with { Latents = HostTensor.Float32(latents, 1, 6, 16) });
        var expected = SchnellEulerReference(dir, provider, transformer, latents, request.MaxSequenceLength!.Value);
        output.WriteLine($"schnell latents vs Euler recomputation at t = 1, 1/2: max abs {Compare.MaxAbs(expected, withLatents.Latents.Floats):g3}");
        Compare.Pipeline(expected, withLatents.Latents.Floats, "schnell final latents");
        // a schedule shifted as dev's (mu from the token count) would give other latents: the check can fail
        Assert.True(Compare.MaxAbs(expected, SchnellEulerReference(dir, provider, transformer, latents, 256, midSigma: 0.6f)) > 1e-3);
    }

    [ConformanceFact]
    public void Flux_dev_shape_with_other_sizes_generates_and_embeds_guidance()
    {
        string dir = OtherConfigurationCheckpoints.FluxDev();
        using var cleanup = new DeletedOnDispose(dir);
        var config = OtherConfigurationCheckpoints.TransformerConfig(dir);
        Assert.Equal(4, config.GetProperty("num_attention_heads").GetInt32());
        Assert.Equal(3, config.GetProperty("num_single_layers").GetInt32());
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider);
        var request = new GenerationRequest { Prompt = Prompt, Height = 48, Width = 32, NumInferenceSteps = 2, GuidanceScale = 3.5, Seed = 1 };
        var first = Timed(pipeline, request, "flux dev other sizes (export, build, run)");
        AssertImage(first, 48, 32);
        AssertSeedDeterminism(pipeline, request, first);

        Assert.Contains(provider.GetEngine(dir, "transformer", null).Manifest.Inputs, i => i.Name == "guidance");
        var otherGuidance = Generate(pipeline, request with { GuidanceScale = 6.0 });
        Assert.True(Compare.MaxAbs(first.Latents.Floats, otherGuidance.Latents.Floats) > 1e-4, "guidance_scale must reach the guidance embedding");
    }

    [ConformanceFact]
    public void Flux2_with_other_transformer_configuration_generates_and_embeds_guidance()
    {
        string dir = OtherConfigurationCheckpoints.Flux2();
        using var cleanup = new DeletedOnDispose(dir);
        Assert.Equal(3, OtherConfigurationCheckpoints.TransformerConfig(dir).GetProperty("num_attention_heads").GetInt32());
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider);
        Assert.Equal("Flux2Pipeline", pipeline.Info.ClassName);
        // a shorter max_sequence_length than the fixture's 512: the text ids and RoPE follow the prompt length
        var request = new GenerationRequest { Prompt = Prompt, Height = 48, Width = 32, NumInferenceSteps = 2, GuidanceScale = 4.0, MaxSequenceLength = 64, Seed = 1 };
        var first = Timed(pipeline, request, "flux2 other sizes (export, build, run)");
        AssertImage(first, 48, 32);
        Assert.Equal([1L, 3 * 2, 32], first.Latents.Shape);
        AssertSeedDeterminism(pipeline, request, first);
        var otherGuidance = Generate(pipeline, request with { GuidanceScale = 1.5 });
        Assert.True(Compare.MaxAbs(first.Latents.Floats, otherGuidance.Latents.Floats) > 1e-4, "guidance_scale must reach the guidance embedding");
    }

    [ConformanceFact]
    public void Qwen_image_with_other_transformer_configuration_generates()
    {
        string dir = OtherConfigurationCheckpoints.QwenImage();
        using var cleanup = new DeletedOnDispose(dir);
        Assert.Equal(3, OtherConfigurationCheckpoints.TransformerConfig(dir).GetProperty("num_attention_heads").GetInt32());
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider);
        Assert.Equal("QwenImagePipeline", pipeline.Info.ClassName);
        var request = new GenerationRequest
        {
            Prompt = Prompt, NegativePrompt = "blurry", TrueCfgScale = 4.0, Height = 32, Width = 48, NumInferenceSteps = 2, Seed = 1,
        };
        var first = Timed(pipeline, request, "qwen-image (export, build, run)");
        AssertImage(first, 32, 48);
        AssertSeedDeterminism(pipeline, request, first);
    }

    [ConformanceFact]
    public void Wan21_with_other_transformer_configuration_generates_video()
    {
        string dir = OtherConfigurationCheckpoints.Wan21();
        using var cleanup = new DeletedOnDispose(dir);
        Assert.Equal(3, OtherConfigurationCheckpoints.TransformerConfig(dir).GetProperty("num_attention_heads").GetInt32());
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider);
        Assert.Equal("WanPipeline", pipeline.Info.ClassName);
        var request = new GenerationRequest { Prompt = Prompt, Height = 16, Width = 32, NumFrames = 5, NumInferenceSteps = 2, Seed = 1 };
        var first = Timed(pipeline, request, "wan 2.1 t2v (export, build, run)");
        Assert.True(first.IsVideo);
        Assert.Equal([1L, 5, 16, 32, 3], first.Output.Shape);
        AssertFiniteUnitRange(first.Output);
        AssertSeedDeterminism(pipeline, request, first);
    }

    GenerationResult Timed(IGenerationPipeline pipeline, GenerationRequest request, string what)
    {
        var clock = Stopwatch.StartNew();
        var result = Generate(pipeline, request);
        output.WriteLine($"{what}: {clock.Elapsed.TotalSeconds:f2} s");
        return result;
    }

    static GenerationResult Generate(IGenerationPipeline pipeline, GenerationRequest request) =>
        pipeline.GenerateAsync(request).GetAwaiter().GetResult();

    static void AssertImage(GenerationResult result, int height, int width)
    {
        Assert.False(result.IsVideo);
        Assert.Equal([1L, height, width, 3], result.Output.Shape);
        AssertFiniteUnitRange(result.Output);
    }

    static void AssertFiniteUnitRange(HostTensor output)
    {
        Assert.All(output.Floats, v => Assert.True(float.IsFinite(v) && v >= 0 && v <= 1, $"output value {v} outside [0, 1]"));
        // random weights must still give an image, not a constant clipped to 0 or 1
        Assert.True(output.Floats.Max() - output.Floats.Min() > 1e-3, "output is constant");
    }

    /// <summary>The same seed gives the same output bit for bit; another seed another output.</summary>
    static void AssertSeedDeterminism(IGenerationPipeline pipeline, GenerationRequest request, GenerationResult first)
    {
        var again = Generate(pipeline, request);
        Assert.Equal(first.Latents.Floats, again.Latents.Floats);
        Assert.Equal(first.Output.Floats, again.Output.Floats);
        var otherSeed = Generate(pipeline, request with { Seed = request.Seed + 1 });
        Assert.Equal(first.Output.Shape, otherSeed.Output.Shape);
        Assert.True(Compare.MaxAbs(first.Latents.Floats, otherSeed.Latents.Floats) > 1e-2, "another seed must give other latents");
        Assert.True(Compare.MaxAbs(first.Output.Floats, otherSeed.Output.Floats) > 1e-4, "another seed must give another output");
    }

    /// <summary>FluxPipeline's loop for a 32×48 request written out for two steps: prompt embeddings from the built
    /// encoders, then x ← x + (σ_next − σ)·v(x, σ) in float32 over σ = 1, <paramref name="midSigma"/>, 0 (the transformer
    /// takes the timestep divided by 1000, i.e. σ).</summary>
    static float[] SchnellEulerReference(string dir, IEngineProvider provider, IEngine transformer, float[] latents, int maxSeq, float midSigma = 0.5f)
    {
        var clip = ClipPromptTokenizer.Load(Path.Combine(dir, "tokenizer")).Tokenize(Prompt);
        var t5 = FluxT5PromptTokenizer.Load(Path.Combine(dir, "tokenizer_2"), maxSeq).Tokenize(Prompt);
        Assert.Equal(maxSeq, t5.Length);
        var pooled = provider.GetEngine(dir, "text_encoder", null).Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = HostTensor.Int64(clip.InputIds, 1, clip.Length),
        })["pooler_output"];
        var states = provider.GetEngine(dir, "text_encoder_2", null).Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = HostTensor.Int64(t5.InputIds, 1, t5.Length),
            ["attention_mask"] = HostTensor.Int64(Enumerable.Repeat(1L, t5.Length).ToArray(), 1, t5.Length),
        })["last_hidden_state"];
        float[] sigmas = [1f, midSigma, 0f];
        var x = (float[])latents.Clone();
        for (int i = 0; i < 2; i++)
        {
            var v = transformer.Run(new Dictionary<string, HostTensor>
            {
                ["hidden_states"] = HostTensor.Float32(x, 1, 6, 16),
                ["encoder_hidden_states"] = states,
                ["pooled_projections"] = pooled,
                ["timestep"] = HostTensor.Float32([sigmas[i]], 1),
                ["img_ids"] = FluxLatents.ImageIds(2, 3),
                ["txt_ids"] = HostTensor.Zeros(t5.Length, 3),
            })["sample"].Floats;
            float dt = sigmas[i + 1] - sigmas[i];
            for (int k = 0; k < x.Length; k++) x[k] += dt * v[k];
        }
        return x;
    }

    static float[] Gaussian(Random rng, int n) =>
        Enumerable.Range(0, n).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()))).ToArray();
}
