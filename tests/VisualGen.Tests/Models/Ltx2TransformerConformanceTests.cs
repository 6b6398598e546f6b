using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Ltx2.Transformer;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

public class Ltx2TransformerConformanceTests(ITestOutputHelper output)
{
    /// <summary>The first LTX2VideoTransformer3DModel call of the ltx2 fixture (conditional/unconditional batch,
    /// use_cross_timestep) against diffusers' video and audio outputs.</summary>
    [ConformanceFact]
    public void Ltx2_transformer_matches_diffusers_golden()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("ltx2"), "transformer");
        using var weights = ComponentWeights.Open(dir);
        using var engine = OrtTestEngine.Build(Ltx2VideoTransformer3DModel.Trace(dir, weights, useCrossTimestep: true), "transformer");
        using var golden = Fixtures.Golden("ltx2");
        var outputs = engine.Run(new Dictionary<string, HostTensor>
        {
            [Ltx2VideoTransformer3DModel.HiddenStatesInput] = Fixtures.GoldenTensor(golden, "transformer.in.hidden_states"),
            [Ltx2VideoTransformer3DModel.AudioHiddenStatesInput] = Fixtures.GoldenTensor(golden, "transformer.in.audio_hidden_states"),
            [Ltx2VideoTransformer3DModel.EncoderHiddenStatesInput] = Fixtures.GoldenTensor(golden, "transformer.in.encoder_hidden_states"),
            [Ltx2VideoTransformer3DModel.AudioEncoderHiddenStatesInput] = Fixtures.GoldenTensor(golden, "transformer.in.audio_encoder_hidden_states"),
            [Ltx2VideoTransformer3DModel.TimestepInput] = Fixtures.GoldenTensor(golden, "transformer.in.timestep"),
            [Ltx2VideoTransformer3DModel.SigmaInput] = Fixtures.GoldenTensor(golden, "transformer.in.sigma"),
            [Ltx2VideoTransformer3DModel.EncoderAttentionMaskInput] = Fixtures.GoldenTensor(golden, "transformer.in.encoder_attention_mask"),
            [Ltx2VideoTransformer3DModel.AudioEncoderAttentionMaskInput] = Fixtures.GoldenTensor(golden, "transformer.in.audio_encoder_attention_mask"),
            [Ltx2VideoTransformer3DModel.VideoCoordsInput] = Fixtures.GoldenTensor(golden, "transformer.in.video_coords"),
            [Ltx2VideoTransformer3DModel.AudioCoordsInput] = Fixtures.GoldenTensor(golden, "transformer.in.audio_coords"),
        });
        foreach (var (name, goldenName) in new[] { (Ltx2VideoTransformer3DModel.SampleOutput, "transformer.out0"), (Ltx2VideoTransformer3DModel.AudioSampleOutput, "transformer.out1") })
        {
            var expected = Fixtures.GoldenTensor(golden, goldenName);
            Assert.Equal(expected.Shape, outputs[name].Shape);
            output.WriteLine($"{goldenName}: max abs error {Compare.MaxAbs(expected.Floats, outputs[name].Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3}), cosine {Compare.Cosine(expected.Floats, outputs[name].Floats):f7}");
            Compare.Component(expected.Floats, outputs[name].Floats, $"ltx2 {goldenName}");
        }
    }
}
