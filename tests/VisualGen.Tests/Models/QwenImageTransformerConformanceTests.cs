using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.QwenImage;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

public class QwenImageTransformerConformanceTests(ITestOutputHelper log)
{
    [ConformanceFact]
    public void QwenImage_transformer_matches_diffusers_golden()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("qwenimage"), "transformer");
        using var weights = SafeTensorsFile.Open(Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
        using var engine = OrtTestEngine.Build(QwenImageTransformer2DModel.Trace(dir, weights), "transformer");
        using var golden = Fixtures.Golden("qwenimage");
        // golden.json: 64×48 pixels → 8×6 latents → a 4×3 grid of 2×2 patches, img_shapes [(1, 4, 3)]
        var outputs = engine.Run(new Dictionary<string, HostTensor>
        {
            ["hidden_states"] = Fixtures.GoldenTensor(golden, "transformer.in.hidden_states"),
            ["timestep"] = Fixtures.GoldenTensor(golden, "transformer.in.timestep"),
            ["encoder_hidden_states"] = Fixtures.GoldenTensor(golden, "transformer.in.encoder_hidden_states"),
            ["img_shapes"] = HostTensor.Int64([1, 4, 3], 3),
        });
        var expected = Fixtures.GoldenTensor(golden, "transformer.out");
        Assert.Equal(expected.Shape, outputs["sample"].Shape);
        log.WriteLine($"qwenimage transformer.out: max abs error {Compare.MaxAbs(expected.Floats, outputs["sample"].Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3})");
        Compare.Component(expected.Floats, outputs["sample"].Floats, "qwenimage transformer.out");
    }
}
