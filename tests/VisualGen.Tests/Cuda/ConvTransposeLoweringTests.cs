using VisualGen.Checkpoints;
using VisualGen.Engines.Cuda.Model;
using VisualGen.Engines.Cuda.Planning;

namespace VisualGen.Tests.Cuda;

/// <summary>The native engine's ConvTranspose as a convolution of the zero-stuffed input: the lowered graph (its
/// VgZeroStuff pads and strides, the swapped and reversed kernel) computed naively on the CPU equals ONNX's
/// ConvTranspose computed naively by its definition.</summary>
public class ConvTransposeLoweringTests
{
    [Theory]
    [InlineData(2, 4, 1, 1, 0, 1)]   // LTX-2's vocoder upsamplers: kernel 4, stride 2, pads 1/1
    [InlineData(3, 5, 2, 1, 1, 1)]   // asymmetric pads, output_padding
    [InlineData(2, 3, 0, 0, 1, 2)]   // dilation 2
    public void Lowered_graph_computes_onnx_conv_transpose(int stride, int k, int padBegin, int padEnd, int outputPadding, int dilation)
    {
        const int n = 2, cin = 3, cout = 4, len = 7;
        var rng = new Random(stride * 100 + k * 10 + dilation);
        var x = Enumerable.Range(0, n * cin * len).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var w = Enumerable.Range(0, cin * cout * k).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var g = new OpGraph();
        g.Constants["w"] = new ConstTensor("w", TensorDType.F32, [cin, cout, k], () => System.Runtime.InteropServices.MemoryMarshal.AsBytes(w.AsSpan()).ToArray());
        g.Inputs.Add(new OpPort("x", TensorDType.F32, ["n", "c", "l"]));
        g.Nodes.Add(new OpNode("ConvTranspose", "up", ["x", "w"], ["y"], new Dictionary<string, OpAttr>
        {
            ["kernel_shape"] = new(Ints: [k]), ["strides"] = new(Ints: [stride]), ["pads"] = new(Ints: [padBegin, padEnd]),
            ["output_padding"] = new(Ints: [outputPadding]), ["dilations"] = new(Ints: [dilation]),
        }));
        g.Outputs.Add(new OpPort("y", TensorDType.F32, ["n", "c", "l"]));
        var report = new FusionReport();
        ConvTransposeLowering.Apply(g, report);
        Assert.Equal(1, report.Counts["ConvTranspose(as Conv)"]);
        Assert.Equal(["VgZeroStuff", "Conv"], g.Nodes.Select(x => x.Op));

        // ONNX ConvTranspose by definition: y[b, o, t] += x[b, i, l] · w[i, o, j] at t = l·stride + j·dilation − padBegin
        int outLen = (len - 1) * stride + dilation * (k - 1) + 1 - padBegin - padEnd + outputPadding;
        var expected = new double[n * cout * outLen];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < cin; i++)
                for (int l = 0; l < len; l++)
                    for (int o = 0; o < cout; o++)
                        for (int j = 0; j < k; j++)
                        {
                            int t = l * stride + j * dilation - padBegin;
                            if (t >= 0 && t < outLen) expected[(b * cout + o) * outLen + t] += x[(b * cin + i) * len + l] * (double)w[(i * cout + o) * k + j];
                        }

        // the lowered graph: zero-stuff, then a plain convolution (stride 1, no pads) with the new constant
        var stuff = g.Nodes[0];
        long s = stuff.Ints("strides")![0], pb = stuff.Ints("pads")![0], pe = stuff.Ints("pads")![1];
        int stuffedLen = (int)((len - 1) * s + 1 + pb + pe);
        var xs = new double[n * cin * stuffedLen];
        for (int b = 0; b < n; b++) for (int i = 0; i < cin; i++) for (int l = 0; l < len; l++) xs[(b * cin + i) * stuffedLen + pb + l * s] = x[(b * cin + i) * len + l];
        var conv = g.Nodes[1];
        var wc = g.Constants[conv.In(1)!];
        Assert.Equal(new long[] { cout, cin, k }, wc.Shape);
        var wl = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(wc.Bytes).ToArray();
        long d = conv.Ints("dilations")![0];
        int convLen = (int)(stuffedLen - d * (k - 1));
        Assert.Equal(outLen, convLen);
        for (int b = 0; b < n; b++)
            for (int o = 0; o < cout; o++)
                for (int t = 0; t < convLen; t++)
                {
                    double acc = 0;
                    for (int i = 0; i < cin; i++) for (int j = 0; j < k; j++) acc += xs[(b * cin + i) * stuffedLen + t + j * d] * wl[(o * cin + i) * k + j];
                    Assert.True(Math.Abs(acc - expected[(b * cout + o) * outLen + t]) < 1e-5, $"b{b} o{o} t{t}: {acc} vs {expected[(b * cout + o) * outLen + t]}");
                }
    }

    [Fact]
    public void Grouped_transposed_convolutions_are_refused_by_name()
    {
        var g = new OpGraph();
        g.Constants["w"] = new ConstTensor("w", TensorDType.F32, [4, 1, 3], () => new byte[48]);
        g.Nodes.Add(new OpNode("ConvTranspose", "depthwise_up", ["x", "w"], ["y"], new Dictionary<string, OpAttr> { ["group"] = new(Int: 4) }));
        var e = Assert.Throws<VisualGen.Engines.EngineException>(() => ConvTransposeLowering.Apply(g, new FusionReport()));
        Assert.Contains("depthwise_up", e.Message);
        Assert.Contains("group 4", e.Message);
    }
}
