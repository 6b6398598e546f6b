using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Quantization;
using VisualGen.Tensors;

namespace VisualGen.Exporter.Quantization;

/// <summary>
/// A quantized linear weight as graph constants, in ModelOpt's layout ([out, in] rows): the codes (e4m3, or packed
/// E2M1 nibbles for NVFP4), NVFP4's e4m3 block scales, and the float32 scales (FP8: one; FP8_BLOCK_SCALES: one per
/// 128×128 block; NVFP4: scale_2). Loaded from a static checkpoint or made now by the exact quantizer.
/// </summary>
public sealed record StoredWeight(QuantAlgo Algo, int InFeatures, int OutFeatures, Tensor Codes, Tensor? BlockScales, float[] Scales)
{
    /// <summary>FP8's static activation scale (<c>input_scale</c>), when the checkpoint has one.</summary>
    public float? InputScale { get; init; }

    /// <summary>Reads a ModelOpt-quantized linear (<c>weight</c>, <c>weight_scale</c>, <c>weight_scale_2</c>,
    /// <c>input_scale</c>), checking every dtype and shape against the algorithm.</summary>
    public static StoredWeight Load(Weights w, QuantAlgo algo, int inFeatures, int outFeatures)
    {
        if (algo == QuantAlgo.Nvfp4)
        {
            var codes = w.Stored("weight", TensorDType.U8, [outFeatures, inFeatures / 2]);
            var blockScales = w.Stored("weight_scale", TensorDType.F8E4M3, [outFeatures, inFeatures / Nvfp4Scheme.BlockSize]);
            float scale2 = Scalar(w, "weight_scale_2");
            // NVFP4 activations are quantized dynamically where NVFP4 runs; the CPU path keeps them in float32
            if (w.Has("input_scale")) w.Skip("input_scale");
            return new StoredWeight(algo, inFeatures, outFeatures, codes, blockScales, [scale2]);
        }
        var q = w.Stored("weight", TensorDType.F8E4M3, [outFeatures, inFeatures]);
        float[] scales;
        if (algo == QuantAlgo.Fp8) scales = [Scalar(w, "weight_scale")];
        else
        {
            long[] shape = [outFeatures / Fp8BlockScheme.BlockSize, inFeatures / Fp8BlockScheme.BlockSize];
            var info = w.Info("weight_scale");
            if (!info.Shape.SequenceEqual(shape))
                throw new CheckpointException(w.Origin, $"'{w.Path("weight_scale")}' has shape {info.ShapeText}; {algo.Name} implies [{string.Join(", ", shape)}]");
            scales = w.Read("weight_scale");
        }
        float? inputScale = null;
        if (w.Has("input_scale"))
        {
            if (algo == QuantAlgo.Fp8) inputScale = Scalar(w, "input_scale");
            else w.Skip("input_scale");  // FP8_BLOCK_SCALES quantizes activations per 1x128 group at run time
        }
        return new StoredWeight(algo, inFeatures, outFeatures, q, null, scales) { InputScale = inputScale };
    }

    /// <summary>Quantizes a float linear weight now, with the algorithm's exact scheme (NVFP4: with
    /// <paramref name="sharedAmax"/> for scale_2 where q, k and v share one).</summary>
    public static StoredWeight Quantize(Weights w, QuantAlgo algo, int inFeatures, int outFeatures, float? sharedAmax = null)
    {
        string name = w.Path("weight");
        var info = w.Info("weight");
        if (!SourceTensor.FloatingTypes.Contains(info.DType))
            throw new CheckpointException(w.Origin, $"'{name}' is {info.DType.SafeTensorsName()}; dynamic quantization takes F32, BF16 or F16 weights");
        if (!info.Shape.SequenceEqual(new long[] { outFeatures, inFeatures }))
            throw new CheckpointException(w.Origin, $"weight '{name}' has shape {info.ShapeText}, the config implies [{outFeatures}, {inFeatures}]");
        var source = new SourceTensor(name, info.DType, info.Shape, w.Read("weight"));
        var schemes = QuantizationSchemeRegistry.CreateDefault();
        schemes.TryGet(algo.Scheme, out var scheme);
        var q = sharedAmax is { } amax ? new Nvfp4Scheme().Quantize(source, amax) : scheme.Quantize(source);
        var t = w.Tracer;
        if (algo == QuantAlgo.Nvfp4)
            return new StoredWeight(algo, inFeatures, outFeatures,
                t.Initializer(name, TensorDType.U8, q.Shape("packed"), new InlineData(q.Bytes("packed"))),
                t.Initializer(w.Path("weight_scale"), TensorDType.F8E4M3, q.Shape("block_scale"), new InlineData(q.Bytes("block_scale"))),
                q.Floats("scale_2"));
        return new StoredWeight(algo, inFeatures, outFeatures,
            t.Initializer(name, TensorDType.F8E4M3, q.Shape("q"), new InlineData(q.Bytes("q"))), null, q.Floats("scale"));
    }

    static float Scalar(Weights w, string key)
    {
        var info = w.Info(key);
        if (info.ElementCount != 1)
            throw new CheckpointException(w.Origin, $"'{w.Path(key)}' has shape {info.ShapeText}; a per-tensor scale (one value) was expected");
        return w.Read(key)[0];
    }
}
