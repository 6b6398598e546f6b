using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Models.Ltx2.Transformer;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Pipelines.Ltx2;
using VisualGen.Tensors;
using VisualGen.Tests.Models;
using VisualGen.Tests.Support;
using R = VisualGen.Tests.Models.Ltx2TransformerRandomCheckpointTests;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Step caches on LTX-2's main (CFG) call: the transformer's parts (video and audio streams flattened and joined, video
/// first) on a random checkpoint compose to the whole graph's two outputs, with and without use_cross_timestep (through
/// the pipeline: <see cref="StepCachesWithoutTableTests"/>).
/// </summary>
public class Ltx2StepCacheTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Parts_compose_to_the_whole_transformer_on_a_random_checkpoint(bool useCrossTimestep)
    {
        var (dir, wt) = R.WriteCheckpoint(perturbedAttn: false);
        try
        {
            using var weights = ComponentWeights.Open(dir);
            var config = ComponentConfig.FromFile(Path.Combine(dir, "config.json"));
            using var engines = new PartEngines(part => part.Length == 0
                ? Ltx2VideoTransformer3DModel.Trace(dir, weights, useCrossTimestep)
                : Ltx2VideoTransformer3DModel.TracePart(config, dir, weights, Ltx2CacheLayout.Part(part, useCrossTimestep)));
            IEngine Engine(string part) => engines[part];
            var (videoCoords, audioCoords) = R.Coords();
            var videoCoordsData = new float[R.B * 3 * R.N * 2];
            var audioCoordsData = new float[R.B * R.M * 2];
            for (int b = 0; b < R.B; b++)
            {
                for (int a = 0; a < 3; a++) videoCoords[a].CopyTo(videoCoordsData, (b * 3 + a) * R.N * 2);
                audioCoords.CopyTo(audioCoordsData, b * R.M * 2);
            }
            long[] mask = [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
            var inputs = new Dictionary<string, HostTensor>
            {
                ["hidden_states"] = HostTensor.Float32(wt.Random(R.B * R.N * R.InC, 2f), R.B, R.N, R.InC),
                ["audio_hidden_states"] = HostTensor.Float32(wt.Random(R.B * R.M * R.AInC, 2f), R.B, R.M, R.AInC),
                ["encoder_hidden_states"] = HostTensor.Float32(wt.Random(R.B * R.L * R.Caption, 2f), R.B, R.L, R.Caption),
                ["audio_encoder_hidden_states"] = HostTensor.Float32(wt.Random(R.B * R.L * R.Caption, 2f), R.B, R.L, R.Caption),
                ["timestep"] = HostTensor.Float32([870f, 250f], R.B),
                ["sigma"] = HostTensor.Float32([0.6f, 0.3f], R.B),
                ["encoder_attention_mask"] = HostTensor.Int64(mask, R.B, R.L),
                ["audio_encoder_attention_mask"] = HostTensor.Int64(mask, R.B, R.L),
                ["video_coords"] = HostTensor.Float32(videoCoordsData, R.B, 3, R.N, 2),
                ["audio_coords"] = HostTensor.Float32(audioCoordsData, R.B, 1, R.M, 2),
            };
            string[] conditioning = ["encoder_hidden_states", "audio_encoder_hidden_states", "timestep", "sigma", "encoder_attention_mask",
                "audio_encoder_attention_mask", "video_coords", "audio_coords"];
            var parts = new TestEngineParts(Engine, inputs, R.Layers, ["hidden_states", "audio_hidden_states"], conditioning,
                ["timestep", "video_coords", "audio_coords"]);
            var hidden = parts.Embed();
            Assert.Equal([(long)R.B, R.N * R.Dim + R.M * R.ADim], hidden.Shape);
            foreach (var (from, to) in new[] { (0, 1), (1, 2) }) hidden = parts.Blocks(from, to, hidden);
            var joined = parts.Output(hidden).ToHost();
            Assert.Equal([(long)R.B, R.N * R.OutC + R.M * R.AOutC], joined.Shape);
            var whole = Engine("").Run(inputs);
            // each row of the joined prediction is that row's video prediction, then its audio prediction
            var (video, audio) = Ltx2CacheLayout.Split(joined.Floats, R.B, R.N * R.OutC);
            Compare.Component(whole["sample"].Floats, video, $"ltx2 parts composed, video (use_cross_timestep {useCrossTimestep})", factor: 1e-5);
            Compare.Component(whole["audio_sample"].Floats, audio, $"ltx2 parts composed, audio (use_cross_timestep {useCrossTimestep})", factor: 1e-5);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Part_names_read_back()
    {
        Assert.Equal("blocks_0_2_no_cross_timestep", Ltx2CacheLayout.Part(TransformerParts.Blocks(0, 2), useCrossTimestep: false));
        Assert.Equal("embed", Ltx2CacheLayout.Part(TransformerParts.Embed, useCrossTimestep: false));
        Assert.True(Ltx2CacheLayout.TryParsePart("blocks_0_2_no_cross_timestep", out var basePart, out bool cross));
        Assert.Equal(("blocks_0_2", false), (basePart, cross));
        Assert.True(Ltx2CacheLayout.TryParsePart("output", out basePart, out cross));
        Assert.Equal(("output", true), (basePart, cross));
        // the call kinds are not step-cache parts, and the reverse
        Assert.False(Ltx2CacheLayout.TryParsePart("no_cross_timestep", out _, out _));
        Assert.False(Ltx2CacheLayout.TryParsePart("embed_no_cross_timestep", out _, out _));
        Assert.False(Ltx2CacheLayout.TryParsePart("stg_1", out _, out _));
        Assert.False(Ltx2TransformerCall.TryParse("blocks_0_2_no_cross_timestep", out _));
    }
}
