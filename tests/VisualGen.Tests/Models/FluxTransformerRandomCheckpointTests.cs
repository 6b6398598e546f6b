using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Flux;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

/// <summary>FluxTransformer2DModel on test-built random checkpoints (no fixture needed): schnell's shape (no guidance
/// embedding) and dev's, with their own sizes, batch 2, and image ids of a real 2-D grid; the exported graph run by
/// ONNX Runtime against an independent float64 forward pass.</summary>
public class FluxTransformerRandomCheckpointTests(ITestOutputHelper output)
{
    static FluxTransformerReference Model(bool guidance) => new()
    {
        InChannels = 8, Heads = 3, HeadDim = 8, JointAttentionDim = 12, PooledProjectionDim = 10,
        NumLayers = 2, NumSingleLayers = 2, GuidanceEmbeds = guidance, AxesDimsRope = [2, 2, 4],
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Random_checkpoint_exports_runs_and_matches_float64_reference(bool guidanceEmbeds)
    {
        var model = Model(guidanceEmbeds);
        string dir = model.Write(Fixtures.TempDir("flux-tr"), seed: guidanceEmbeds ? 2 : 1);
        using var weights = ComponentWeights.Open(dir);
        var graph = FluxTransformer2D.Trace(dir, weights);
        Assert.Equal(guidanceEmbeds, graph.Inputs.Any(i => i.Value.Name == "guidance"));

        const int batch = 2, img = 6, txt = 5;
        var rng = new Random(7);
        float[] R(int n, double scale = 1) => Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2 - 1) * scale)).ToArray();
        var hidden = R(batch * img * 8);
        var context = R(batch * txt * 12);
        var pooled = R(batch * 10);
        float[] timestep = [0.75f, 0.3f];
        float[] guidance = [3.5f, 5f];
        var imgIds = VisualGen.Pipelines.Flux.FluxLatents.ImageIds(2, 3);
        var txtIds = new float[txt * 3];

        using var engine = OrtTestEngine.Build(graph, "transformer");
        var inputs = new Dictionary<string, HostTensor>
        {
            ["hidden_states"] = HostTensor.Float32(hidden, batch, img, 8),
            ["encoder_hidden_states"] = HostTensor.Float32(context, batch, txt, 12),
            ["pooled_projections"] = HostTensor.Float32(pooled, batch, 10),
            ["timestep"] = HostTensor.Float32(timestep, batch),
            ["img_ids"] = imgIds,
            ["txt_ids"] = HostTensor.Float32(txtIds, txt, 3),
        };
        if (guidanceEmbeds) inputs["guidance"] = HostTensor.Float32(guidance, batch);
        var sample = engine.Run(inputs)["sample"];
        Assert.Equal([batch, img, 8L], sample.Shape);

        var expected = new List<float>();
        for (int b = 0; b < batch; b++)
        {
            double[] D(float[] a, int n) => a.Skip(b * n).Take(n).Select(v => (double)v).ToArray();
            var y = model.Forward(D(hidden, img * 8), img, D(context, txt * 12), txt, D(pooled, 10), timestep[b],
                imgIds.Floats.Select(v => (double)v).ToArray(), new double[txt * 3], guidanceEmbeds ? guidance[b] : null);
            expected.AddRange(y.Select(v => (float)v));
        }
        var reference = expected.ToArray();
        output.WriteLine($"guidance_embeds={guidanceEmbeds}: max abs error {Compare.MaxAbs(reference, sample.Floats):g3} (max |ref| {Compare.MaxAbsRef(reference):g3})");
        Compare.Component(reference, sample.Floats, $"random FLUX transformer (guidance_embeds={guidanceEmbeds})");
        // the two samples differ (timestep, guidance and inputs are per sample), so batching cannot hide a broadcast bug
        Assert.True(Compare.MaxAbs(reference.AsSpan(0, img * 8), reference.AsSpan(img * 8, img * 8)) > 1e-2);
    }

    [Fact]
    public void Axes_dims_that_do_not_sum_to_head_dim_are_refused()
    {
        var model = Model(false);
        string dir = model.Write(Fixtures.TempDir("flux-tr"), seed: 3);
        string config = Path.Combine(dir, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("[2,2,4]", "[2,2,2]"));
        using var weights = ComponentWeights.Open(dir);
        var e = Assert.Throws<CheckpointException>(() => FluxTransformer2D.Trace(dir, weights));
        Assert.Contains("axes_dims_rope", e.Message);
    }
}
