using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Ltx2.Vocoder;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

public class Ltx2VocoderConformanceTests(ITestOutputHelper output)
{
    [ConformanceFact]
    public void Ltx2_vocoder_matches_diffusers_golden()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("ltx2"), "vocoder");
        using var weights = ComponentWeights.Open(dir);
        using var engine = OrtTestEngine.Build(Ltx2Vocoder.Trace(dir, weights), "vocoder");
        using var golden = Fixtures.Golden("ltx2");
        var waveform = engine.Run(new Dictionary<string, HostTensor> { [Ltx2Vocoder.MelInput] = Fixtures.GoldenTensor(golden, "vocoder.in.arg0") })[Ltx2Vocoder.WaveformOutput];
        var expected = Fixtures.GoldenTensor(golden, "vocoder.out");
        Assert.Equal(expected.Shape, waveform.Shape);
        output.WriteLine($"max abs error {Compare.MaxAbs(expected.Floats, waveform.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3})");
        Compare.Component(expected.Floats, waveform.Floats, "ltx2 vocoder.out");
    }
}
