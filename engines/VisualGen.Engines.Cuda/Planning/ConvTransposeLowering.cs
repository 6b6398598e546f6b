using VisualGen.Checkpoints;
using VisualGen.Engines.Cuda.Model;

namespace VisualGen.Engines.Cuda.Planning;

/// <summary>
/// ConvTranspose (LTX-2's vocoder upsamplers) as a plain convolution: y = conv(zero-stuffed x, W') where the input
/// gets stride − 1 zeros between its samples and dilation·(k − 1) − pad zeros at each end (plus output_padding at the
/// end), and W'[o, i, j] = W[i, o, k − 1 − j] (the kernel's in/out channels swapped and its taps reversed, made once at
/// build). The cuDNN convolution then runs it; the zeros cost stride× the multiplies of a direct transposed
/// convolution, small next to the vocoder's other convolutions. Groups 1 only.
/// </summary>
static class ConvTransposeLowering
{
    public static void Apply(OpGraph g, FusionReport report)
    {
        var producers = g.Producers();
        foreach (var ct in g.Nodes.Where(n => n.Op == "ConvTranspose").ToList())
        {
            var w = EncoderFusion.ViewedConstant(g, producers, ct.In(1))
                ?? throw new EngineException($"node '{ct.Name}' (ConvTranspose): the weight is not a constant");
            var (c, shape) = w;
            int sp = shape.Length - 2;
            if (sp < 1 || ct.Int("group", 1) != 1)
                throw new EngineException($"node '{ct.Name}' (ConvTranspose): only ungrouped 1-3-d transposed convolutions run on the native CUDA engine (group {ct.Int("group", 1)}, weight [{string.Join(",", shape)}])");
            if (ct.Text("auto_pad", "NOTSET") != "NOTSET" || ct.Ints("output_shape") is not null)
                throw new EngineException($"node '{ct.Name}' (ConvTranspose): auto_pad and output_shape are not supported; the exporter writes explicit pads");
            long[] strides = ct.Ints("strides") ?? Enumerable.Repeat(1L, sp).ToArray();
            long[] dil = ct.Ints("dilations") ?? Enumerable.Repeat(1L, sp).ToArray();
            long[] pads = ct.Ints("pads") ?? new long[2 * sp];
            long[] extra = ct.Ints("output_padding") ?? new long[sp];
            var stuffPads = new long[2 * sp];
            for (int i = 0; i < sp; i++)
            {
                long span = dil[i] * (shape[2 + i] - 1);
                stuffPads[i] = span - pads[i];
                stuffPads[sp + i] = span - pads[sp + i] + extra[i];
                if (stuffPads[i] < 0 || stuffPads[sp + i] < 0)
                    throw new EngineException($"node '{ct.Name}' (ConvTranspose): pads larger than dilation·(kernel − 1) are not supported");
            }
            long inCh = shape[0], outCh = shape[1];
            long taps = shape.Skip(2).Aggregate(1L, (a, b) => a * b);
            string name = c.Name + "@conv_transpose_as_conv";
            if (!g.Constants.ContainsKey(name))
                g.Constants[name] = new ConstTensor(name, TensorDType.F32, [outCh, inCh, .. shape[2..]], () =>
                {
                    var src = VisualGen.Tensors.ElementConvert.ToFloat32(c.Bytes, c.DType, c.Count);
                    var dst = new float[src.Length];
                    for (long i = 0; i < inCh; i++)
                        for (long o = 0; o < outCh; o++)
                            for (long t = 0; t < taps; t++)
                                dst[(o * inCh + i) * taps + t] = src[(i * outCh + o) * taps + (taps - 1 - t)];
                    return System.Runtime.InteropServices.MemoryMarshal.AsBytes(dst.AsSpan()).ToArray();
                });
            string stuffed = ct.Outputs[0] + "#zero_stuffed";
            var stuff = new OpNode("VgZeroStuff", ct.Name + "/zero_stuff", [ct.In(0)], [stuffed],
                new Dictionary<string, OpAttr> { ["strides"] = new(Ints: strides), ["pads"] = new(Ints: stuffPads) });
            var conv = new OpNode("Conv", ct.Name, [stuffed, name, .. ct.Inputs.Skip(2)], ct.Outputs,
                new Dictionary<string, OpAttr> { ["dilations"] = new(Ints: dil), ["strides"] = new(Ints: Enumerable.Repeat(1L, sp).ToArray()), ["pads"] = new(Ints: new long[2 * sp]) });
            int at = g.Nodes.IndexOf(ct);
            g.Nodes[at] = conv;
            g.Nodes.Insert(at, stuff);
            report.Count("ConvTranspose(as Conv)");
        }
    }
}
