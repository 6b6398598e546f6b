using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Cosmos3;
using VisualGen.Pipelines.Wan;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

/// <summary>Cosmos3OmniPipeline against diffusers: the joint sequence the transformer sees (positions, vision and noisy
/// token indexes, timestep), and the whole pipeline (latents and decoded output) from the golden prompt token ids.</summary>
public class Cosmos3PipelineConformanceTests(ITestOutputHelper output)
{
    static long[] Ints(SafeTensorsFile golden, string name) => HostTensor.FromSource(golden, name).Longs;

    [ConformanceTheory]
    [InlineData("cosmos3_t2i")]
    [InlineData("cosmos3_t2v")]
    [InlineData("cosmos3_i2v")]
    public void Joint_sequence_matches_the_first_transformer_call(string family)
    {
        using var golden = Fixtures.Golden(family);
        var request = ConformancePipelines.RequestFromGolden(family, golden);
        var index = ModelIndex.Load(Fixtures.Checkpoint(family));
        var config = Cosmos3ModelConfig.Load(index);
        var latents = HostTensor.FromSource(golden, "pipeline.latents_init");
        var grid = new Cosmos3Patchify(config.LatentChannels, (int)latents.Shape[2], (int)latents.Shape[3], (int)latents.Shape[4], config.PatchSize);
        var ids = Ints(golden, "transformer.in.input_ids").Select(i => (int)i).ToList();
        var conditionFrames = request.Image is null ? new HashSet<int>() : new HashSet<int> { 0 };
        var sequence = Cosmos3Sequence.Build(config, ids, grid, request.Fps ?? 24.0, conditionFrames);

        Assert.Equal(Ints(golden, "transformer.in.text_indexes"), Enumerable.Range(0, ids.Count).Select(i => (long)i));
        Assert.Equal(HostTensor.FromSource(golden, "transformer.in.position_ids").Floats, sequence.PositionIds);
        Assert.Equal(Ints(golden, "transformer.in.vision_sequence_indexes"), Enumerable.Range(ids.Count, grid.Tokens).Select(i => (long)i));
        var noisy = Enumerable.Range(0, grid.Tokens).Where(i => sequence.NoisyTokens[i] == 1f).Select(i => (long)(ids.Count + i));
        Assert.Equal(Ints(golden, "transformer.in.vision_mse_loss_indexes"), noisy);
        var timesteps = Ints(golden, "transformer.in.vision_timesteps");
        Assert.All(timesteps, t => Assert.Equal((long)HostTensor.FromSource(golden, "scheduler.timesteps").Floats[0], t));
    }

    [ConformanceTheory]
    [InlineData("cosmos3_t2i")]
    [InlineData("cosmos3_t2v")]
    [InlineData("cosmos3_i2v")]
    public void Pipeline_from_the_golden_token_ids_matches_diffusers(string family)
    {
        using var golden = Fixtures.Golden(family);
        var request = ConformancePipelines.RequestFromGolden(family, golden);
        using var provider = ConformancePipelines.Provider();
        using var pipeline = (Cosmos3Pipeline)ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint(family), provider);
        var prompt = Ints(golden, "tokenizer.prompt.input_ids").Select(i => (int)i).ToList();
        var negative = Ints(golden, "tokenizer.negative.input_ids").Select(i => (int)i).ToList();
        var result = pipeline.Generate(request, prompt, negative, null, default);
        var latents = HostTensor.FromSource(golden, "pipeline.latents_final").Floats;
        output.WriteLine($"{family}: latents max abs {Compare.MaxAbs(latents, result.Latents.Floats):g3}, cosine {Compare.Cosine(latents, result.Latents.Floats):f7}");
        ConformancePipelines.AssertMatchesGolden(family, result);
    }

    [ConformanceTheory]
    [InlineData("cosmos3_t2i")]
    [InlineData("cosmos3_t2v")]
    [InlineData("cosmos3_i2v")]
    public void Pipeline_matches_diffusers(string family)
    {
        var result = ConformancePipelines.Run(family);
        ConformancePipelines.AssertMatchesGolden(family, result);
    }

    [ConformanceFact]
    public void Encoded_image_is_the_golden_first_latent_frame()
    {
        const string family = "cosmos3_i2v";
        using var golden = Fixtures.Golden(family);
        var request = ConformancePipelines.RequestFromGolden(family, golden);
        string checkpoint = Fixtures.Checkpoint(family);
        var config = Cosmos3ModelConfig.Load(ModelIndex.Load(checkpoint));
        using var provider = ConformancePipelines.Provider();
        var encoder = new WanVaeEncoder(provider.GetEngine(checkpoint, "vae.encoder_first", null), provider.GetEngine(checkpoint, "vae.encoder_next", null));
        var first = Cosmos3ImageCondition.EncodeFirstFrame(encoder, new WanLatentStats(config.Vae), request.Image!, (int)request.Image!.Shape[0], (int)request.Image!.Shape[1], default);

        var init = HostTensor.FromSource(golden, "pipeline.latents_init");
        var latents = new float[init.Floats.Length];
        Cosmos3ImageCondition.AnchorFirstFrame(latents, first);
        long plane = init.Shape[3] * init.Shape[4], frames = init.Shape[2];
        var expected = new List<float>();
        var got = new List<float>();
        for (long c = 0; c < init.Shape[1]; c++)
        {
            expected.AddRange(init.Floats.AsSpan((int)(c * frames * plane), (int)plane).ToArray());
            got.AddRange(latents.AsSpan((int)(c * frames * plane), (int)plane).ToArray());
            Assert.All(latents.AsSpan((int)(c * frames * plane + plane), (int)((frames - 1) * plane)).ToArray(), v => Assert.Equal(0f, v));
        }
        output.WriteLine($"encoded first frame vs latents_init frame 0: max abs {Compare.MaxAbs(expected.ToArray(), got.ToArray()):g3}");
        Compare.Component(expected.ToArray(), got.ToArray(), "encoded first latent frame");
    }
}
