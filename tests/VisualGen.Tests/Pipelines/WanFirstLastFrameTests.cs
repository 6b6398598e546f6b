using System.Text.Json.Nodes;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Models.Wan;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines;
using VisualGen.Tensors;
using VisualGen.Tests.Models;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Wan 2.1 first-last-frame (FLF2V: a WanImageToVideoPipeline whose transformer has pos_embed_seq_len). No fixture
/// exists: the image embedder with its positions is checked against diffusers' WanImageEmbedding written out here, and
/// the pipeline runs on the wan21_i2v fixture made FLF2V (pos_embed_seq_len 2 × 257 CLIP tokens, a random pos_embed):
/// both images' CLIP tokens reach the transformer, in order.
/// </summary>
public class WanFirstLastFrameTests
{
    const int Tokens = 257, ImageDim = 16, Dim = 12;

    static float[] Random(int n, int seed) { var r = new Random(seed); return [.. Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() - 0.5))]; }

    [Fact]
    public void Image_embedder_adds_the_positions_of_both_images_tokens()
    {
        // WanImageEmbedding with pos_embed: [2, 257, D] viewed as [1, 514, D] + pos_embed, then LayerNorm, FeedForward (GELU), LayerNorm
        string file = Path.Combine(Fixtures.TempDir("flf2v-embedder"), "w.safetensors");
        var w = new Dictionary<string, (long[] Shape, float[] Values)>
        {
            ["norm1.weight"] = ([ImageDim], Random(ImageDim, 1)), ["norm1.bias"] = ([ImageDim], Random(ImageDim, 2)),
            ["ff.net.0.proj.weight"] = ([ImageDim, ImageDim], Random(ImageDim * ImageDim, 3)), ["ff.net.0.proj.bias"] = ([ImageDim], Random(ImageDim, 4)),
            ["ff.net.2.weight"] = ([Dim, ImageDim], Random(Dim * ImageDim, 5)), ["ff.net.2.bias"] = ([Dim], Random(Dim, 6)),
            ["norm2.weight"] = ([Dim], Random(Dim, 7)), ["norm2.bias"] = ([Dim], Random(Dim, 8)),
            ["pos_embed"] = ([1, 2 * Tokens, ImageDim], Random(2 * Tokens * ImageDim, 9)),
        };
        SafeTensorsWriter.Write(file, w.Select(kv => TensorData.Float32(kv.Key, kv.Value.Shape, kv.Value.Values)));
        using var source = SafeTensorsFile.Open(file);
        var tracer = new Tracer("image_embedder");
        var input = tracer.Input("image_embeds", TensorDType.F32, "2", Tokens.ToString(), ImageDim.ToString());
        tracer.Output(new WanImageEmbedding(new Weights(tracer, source, file), ImageDim, Dim, 2 * Tokens).Forward(input), "out", "1", (2 * Tokens).ToString(), Dim.ToString());
        using var engine = OrtTestEngine.Build(tracer.Graph, "image_embedder");
        var x = Random(2 * Tokens * ImageDim, 10);
        var actual = engine.Run(new Dictionary<string, HostTensor> { ["image_embeds"] = HostTensor.Float32(x, 2, Tokens, ImageDim) })["out"].Floats;

        double[] LayerNorm(double[] v, float[] g, float[] b)
        {
            double mean = v.Average(), var = v.Select(a => (a - mean) * (a - mean)).Average();
            return [.. v.Select((a, i) => (a - mean) / Math.Sqrt(var + 1e-5) * g[i] + b[i])];
        }
        double[] Linear(double[] v, float[] weight, float[] bias, int outDim) =>
            [.. Enumerable.Range(0, outDim).Select(o => bias[o] + v.Select((a, i) => a * weight[o * v.Length + i]).Sum())];
        static double Gelu(double a) => 0.5 * a * (1 + Erf(a / Math.Sqrt(2)));
        var expected = new List<double>();
        for (int t = 0; t < 2 * Tokens; t++)
        {
            var v = Enumerable.Range(0, ImageDim).Select(c => (double)x[t * ImageDim + c] + w["pos_embed"].Values[t * ImageDim + c]).ToArray();
            v = LayerNorm(v, w["norm1.weight"].Values, w["norm1.bias"].Values);
            v = [.. Linear(v, w["ff.net.0.proj.weight"].Values, w["ff.net.0.proj.bias"].Values, ImageDim).Select(Gelu)];
            v = Linear(v, w["ff.net.2.weight"].Values, w["ff.net.2.bias"].Values, Dim);
            expected.AddRange(LayerNorm(v, w["norm2.weight"].Values, w["norm2.bias"].Values));
        }
        Assert.True(Compare.MaxAbs([.. expected.Select(e => (float)e)], actual) < 1e-5);
    }

    /// <summary>erf by its Taylor series (to about 1e-12 for the small arguments used): the exact GELU of diffusers' FeedForward.</summary>
    static double Erf(double x)
    {
        double sum = 0, term = x;
        for (int n = 0; n < 60; n++)
        {
            sum += term / (2 * n + 1);
            term *= -x * x / (n + 1);
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    /// <summary>The wan21_i2v fixture with an FLF2V transformer: pos_embed_seq_len 514 and a pos_embed of <paramref name="seed"/>.</summary>
    static string Flf2vCheckpoint(int seed)
    {
        string source = Fixtures.Checkpoint("wan21_i2v"), dir = Fixtures.CheckpointVariant("wan21_i2v", "WanImageToVideoPipeline", "transformer");
        string transformer = Path.Combine(dir, "transformer");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "transformer", "config.json")))!.AsObject();
        config["pos_embed_seq_len"] = 2 * Tokens;
        File.WriteAllText(Path.Combine(transformer, "config.json"), config.ToJsonString());
        using var weights = SafeTensorsFile.Open(Path.Combine(source, "transformer", "diffusion_pytorch_model.safetensors"));
        SafeTensorsWriter.Write(Path.Combine(transformer, "diffusion_pytorch_model.safetensors"),
            [.. weights.Names.Select(n => HostTensor.FromSource(weights, n).ToTensorData(n)),
             TensorData.Float32("condition_embedder.image_embedder.pos_embed", [1, 2 * Tokens, ImageDim], Random(2 * Tokens * ImageDim, seed))]);
        return dir;
    }

    [ConformanceFact]
    public void First_last_frame_generation_reads_both_images_in_order()
    {
        using var golden = Fixtures.Golden("wan21_i2v");
        var first = Fixtures.RandomImage(32, 32, 1);
        var last = Fixtures.RandomImage(32, 32, 2);
        var request = ConformancePipelines.RequestFromGolden("wan21_i2v", golden) with { Image = first, LastImage = last, NumInferenceSteps = 2 };
        using var provider = ConformancePipelines.Provider();
        float[] Run(string dir, GenerationRequest r)
        {
            using var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider);
            Assert.True(pipeline.Info.Takes(CallArguments.LastImage));
            return pipeline.GenerateAsync(r).GetAwaiter().GetResult().Latents.Floats;
        }
        string flf2v = Flf2vCheckpoint(11);
        var result = Run(flf2v, request);
        Assert.All(result, v => Assert.True(float.IsFinite(v)));
        // the positions are read, and the two images are not interchangeable
        Assert.NotEqual(result, Run(Flf2vCheckpoint(12), request));
        Assert.NotEqual(result, Run(flf2v, request with { Image = last, LastImage = first }));
        // the fixture itself (one image's CLIP tokens) refuses a last frame
        using var i2v = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("wan21_i2v"), provider);
        Assert.Contains("first-last-frame model", Assert.Throws<GenerationException>(() => i2v.Validate(request)).Message);
    }
}
