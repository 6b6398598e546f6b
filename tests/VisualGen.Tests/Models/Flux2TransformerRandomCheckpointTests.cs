using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Flux2;
using VisualGen.Pipelines.Flux2;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

/// <summary>Flux2Transformer2DModel on test-built random checkpoints (no fixture needed) with another configuration
/// than the fixture's: 3 heads of 8, mlp_ratio 2, rope_theta 500, two double and two single blocks, with and without
/// guidance embedding, batch 2, image ids of a real 2-D grid and text ids along L; the exported graph run by ONNX
/// Runtime against an independent float64 forward pass.</summary>
public class Flux2TransformerRandomCheckpointTests(ITestOutputHelper output)
{
    static Flux2TransformerReference Model(bool guidance) => new()
    {
        InChannels = 12, Heads = 3, HeadDim = 8, JointAttentionDim = 10, NumLayers = 2, NumSingleLayers = 2,
        GuidanceEmbeds = guidance, AxesDimsRope = [2, 2, 2, 2], MlpRatio = 2.0, RopeTheta = 500,
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Random_checkpoint_exports_runs_and_matches_float64_reference(bool guidanceEmbeds)
    {
        var model = Model(guidanceEmbeds);
        string dir = model.Write(Fixtures.TempDir("flux2-tr"), seed: guidanceEmbeds ? 12 : 11);
        using var weights = ComponentWeights.Open(dir);
        var graph = Flux2Transformer2D.Trace(dir, weights);
        Assert.Equal(guidanceEmbeds, graph.Inputs.Any(i => i.Value.Name == "guidance"));

        const int batch = 2, img = 6, txt = 5, inC = 12, ctxC = 10;
        var rng = new Random(7);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var hidden = R(batch * img * inC);
        var context = R(batch * txt * ctxC);
        float[] timestep = [0.75f, 0.3f];
        float[] guidance = [4f, 2.5f];
        var imgIds = Flux2Latents.ImageIds(2, 3);
        var txtIds = Flux2Latents.TextIds(txt);

        using var engine = OrtTestEngine.Build(graph, "transformer");
        var inputs = new Dictionary<string, HostTensor>
        {
            ["hidden_states"] = HostTensor.Float32(hidden, batch, img, inC),
            ["encoder_hidden_states"] = HostTensor.Float32(context, batch, txt, ctxC),
            ["timestep"] = HostTensor.Float32(timestep, batch),
            ["img_ids"] = imgIds,
            ["txt_ids"] = txtIds,
        };
        if (guidanceEmbeds) inputs["guidance"] = HostTensor.Float32(guidance, batch);
        var sample = engine.Run(inputs)["sample"];
        Assert.Equal([batch, img, inC], sample.Shape);

        var expected = new List<float>();
        for (int b = 0; b < batch; b++)
        {
            double[] D(float[] a, int n) => a.Skip(b * n).Take(n).Select(v => (double)v).ToArray();
            var y = model.Forward(D(hidden, img * inC), img, D(context, txt * ctxC), txt, timestep[b],
                imgIds.Floats.Select(v => (double)v).ToArray(), txtIds.Floats.Select(v => (double)v).ToArray(), guidanceEmbeds ? guidance[b] : null);
            expected.AddRange(y.Select(v => (float)v));
        }
        var reference = expected.ToArray();
        output.WriteLine($"guidance_embeds={guidanceEmbeds}: max abs error {Compare.MaxAbs(reference, sample.Floats):g3} (max |ref| {Compare.MaxAbsRef(reference):g3})");
        Compare.Component(reference, sample.Floats, $"random FLUX.2 transformer (guidance_embeds={guidanceEmbeds})");
        // the two samples differ (timestep, guidance and inputs are per sample), so batching cannot hide a broadcast bug
        Assert.True(Compare.MaxAbs(reference.AsSpan(0, img * inC), reference.AsSpan(img * inC, img * inC)) > 1e-2);
    }

    [Fact]
    public void Axes_dims_that_do_not_sum_to_head_dim_are_refused()
    {
        var model = Model(false);
        string dir = model.Write(Fixtures.TempDir("flux2-tr"), seed: 13);
        string config = Path.Combine(dir, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("[2,2,2,2]", "[2,2,2]"));
        using var weights = ComponentWeights.Open(dir);
        var e = Assert.Throws<CheckpointException>(() => Flux2Transformer2D.Trace(dir, weights));
        Assert.Contains("axes_dims_rope", e.Message);
    }
}
