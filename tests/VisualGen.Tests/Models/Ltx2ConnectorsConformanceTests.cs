using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Ltx2.Connectors;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

public class Ltx2ConnectorsConformanceTests(ITestOutputHelper output)
{
    /// <summary>
    /// KNOWN GAP: the connectors meet the whole-pipeline tolerance (max abs ≤ 1e−3, cosine ≥ 0.9999) but not the
    /// component one (1e−4·max(|ref|, 1) ≈ 3.6e−4; measured 6.9e−4 on out0, 4.4e−4 on out1). The fixture's
    /// rope_double_precision=false makes diffusers compute the RoPE base frequencies theta^linspace in float32
    /// (torch's vectorized pow, up to 1 ulp from the correctly rounded value), and with angles up to theta·π/2 ≈ 1.6e4
    /// rad one ulp of a frequency (≈1e−3 rad) moves cos/sin by up to 1e−3: changing any single one of our 16
    /// frequencies by one ulp moves the error between 5.9e−4 and 8.9e−4. Real LTX-2 connectors compute the
    /// frequencies in float64 (rope_double_precision=true), which we reproduce exactly.
    /// </summary>
    [ConformanceFact]
    public void Ltx2_text_connectors_match_diffusers_golden_within_pipeline_tolerance()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("ltx2"), "connectors");
        using var weights = ComponentWeights.Open(dir);
        using var engine = OrtTestEngine.Build(Ltx2TextConnectors.Trace(dir, weights), "connectors");
        using var golden = Fixtures.Golden("ltx2");
        var outputs = engine.Run(new Dictionary<string, HostTensor>
        {
            [Ltx2TextConnectors.HiddenStatesInput] = Fixtures.GoldenTensor(golden, "connectors.in.arg0"),
            [Ltx2TextConnectors.MaskInput] = Fixtures.GoldenTensor(golden, "connectors.in.arg1"),
        });
        foreach (var (name, goldenName) in new[] { (Ltx2TextConnectors.VideoOutput, "connectors.out0"), (Ltx2TextConnectors.AudioOutput, "connectors.out1") })
        {
            var expected = Fixtures.GoldenTensor(golden, goldenName);
            Assert.Equal(expected.Shape, outputs[name].Shape);
            output.WriteLine($"{goldenName}: max abs error {Compare.MaxAbs(expected.Floats, outputs[name].Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3}), cosine {Compare.Cosine(expected.Floats, outputs[name].Floats):f7}");
            Compare.Pipeline(expected.Floats, outputs[name].Floats, $"ltx2 {goldenName}");
        }
        Assert.Equal(Fixtures.GoldenTensor(golden, "connectors.out2").Longs, outputs[Ltx2TextConnectors.MaskOutput].Longs);
    }
}
