using VisualGen.Checkpoints;
using VisualGen.Engines.Cuda.Model;
using VisualGen.Engines.Cuda.Runtime;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cuda;

/// <summary>Every LTX-2 component the pipeline calls compiles and plans on the native engine (dry-run plans, no GPU):
/// Gemma 3 with its sliding-window mask folded, the text connectors with their attention_mask read at plan time, the
/// video VAE's edge and reflect padding, the audio VAE, the vocoder's LeakyRelu and transposed convolutions. The H200
/// run of the conformance fixture checks their values (tools/bench/RESULTS.md, stop 29).</summary>
public class Ltx2NativePlanTests
{
    static OpGraph Compile(string component, out EncoderPlanTests.FusionReportView report) => EncoderPlanTests.Compile("ltx2", component, out report);

    static ShapePlan Plan(OpGraph g, Dictionary<string, long[]> shapes, bool float32, Dictionary<string, HostTensor>? planTime = null) =>
        EncoderPlanTests.Plan(g, shapes, float32, planTime);

    [ConformanceFact]
    public void Text_encoder_and_connectors_plan_with_their_masks()
    {
        var gemma = Compile("text_encoder", out _);
        using (var plan = Plan(gemma, new() { ["input_ids"] = [1, 32], ["attention_mask"] = [1, 32] }, float32: false))
            Assert.Equal(32, plan.Outputs["hidden_states"].Shape[1]);
        using (var plan = Plan(gemma, new() { ["input_ids"] = [1, 1024], ["attention_mask"] = [1, 1024] }, float32: false))
            Assert.Equal(1024, plan.Outputs["hidden_states"].Shape[1]);

        var connectors = Compile("connectors", out _);
        Assert.True(connectors.Inputs.Single(i => i.Name == "attention_mask").PlanTime);
        // left padded: 5 and 32 valid tokens
        var mask = HostTensor.Int64([.. Enumerable.Range(0, 32).Select(i => i >= 27 ? 1L : 0L), .. Enumerable.Repeat(1L, 32)], 2, 32);
        using var c = Plan(connectors, new() { ["text_encoder_hidden_states"] = [2, 32, 96], ["attention_mask"] = [2, 32] }, float32: false,
            new() { ["attention_mask"] = mask });
        Assert.Equal(new long[] { 2, 32, 32 }, c.Outputs["video_text_embedding"].Shape);
        Assert.Equal(new long[] { 2, 32 }, c.Outputs["attention_mask_out"].Shape);
        // the pipeline's 1024 text tokens: the masked maxima over 1024 positions × channels reduce by halving
        var long1024 = HostTensor.Int64([.. Enumerable.Range(0, 2048).Select(i => i % 1024 >= 1000 ? 1L : 0L)], 2, 1024);
        using (var big = Plan(connectors, new() { ["text_encoder_hidden_states"] = [2, 1024, 96], ["attention_mask"] = [2, 1024] }, float32: false,
            new() { ["attention_mask"] = long1024 }))
        {
            Assert.Equal(new long[] { 2, 1024, 32 }, big.Outputs["video_text_embedding"].Shape);
            Assert.Contains(big.Steps, s => s.Name.EndsWith("/fold"));
        }
        // the masked normalization selects device values by the plan-time mask: a fill, then a masked copy
        Assert.Contains(c.Steps, s => s.Name.EndsWith("/else"));
        Assert.Contains(connectors.Outputs, o => o.Name == "attention_mask_out" && o.DType == TensorDType.I64);
    }

    [ConformanceFact]
    public void Video_vae_audio_vae_and_vocoder_plan_in_float32()
    {
        var vae = Compile("vae.decoder", out _);
        Assert.Contains(vae.Nodes, n => n.Op == "Pad" && n.Text("mode", "") == "edge");
        Assert.Contains(vae.Nodes, n => n.Op == "Pad" && n.Text("mode", "") == "reflect");
        using (var plan = Plan(vae, new() { ["latents"] = [1, 4, 5, 16, 16] }, float32: true))
        {
            Assert.Equal(new long[] { 1, 3, 9, 32, 32 }, plan.Outputs["sample"].Shape);
            Assert.Contains(plan.Steps, s => s.Name.EndsWith("/border"));
        }
        var audio = Compile("audio_vae.decoder", out _);
        using (var plan = Plan(audio, new() { ["latents"] = [1, 2, 9, 2] }, float32: true))
            Assert.Equal(new long[] { 1, 2, 33, 8 }, plan.Outputs["mel"].Shape);
        var vocoder = Compile("vocoder", out var report);
        Assert.True(report["ConvTranspose(as Conv)"] >= 1);
        Assert.DoesNotContain(vocoder.Nodes, n => n.Op == "ConvTranspose");
        using (var plan = Plan(vocoder, new() { ["mel"] = [1, 2, 33, 8] }, float32: true))
            Assert.Equal(new long[] { 1, 2, 132 }, plan.Outputs["waveform"].Shape);
        // longer sequences plan too (the fixture VAE compresses time and space by 2: 16 latent frames are 31; 501 mel frames)
        using (var plan = Plan(vae, new() { ["latents"] = [1, 4, 16, 16, 24] }, float32: true))
            Assert.Equal(new long[] { 1, 3, 31, 32, 48 }, plan.Outputs["sample"].Shape);
        using (var plan = Plan(vocoder, new() { ["mel"] = [1, 2, 501, 8] }, float32: true))
            Assert.Equal(2004, plan.Outputs["waveform"].Shape[2]);
    }
}
