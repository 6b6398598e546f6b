using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Quantization;
using VisualGen.Tensors;

namespace VisualGen.Exporter.Quantization;

/// <summary>
/// A quantized linear weight as graph constants, in ModelOpt's layout ([out, in] rows): the codes (e4m3, or packed
/// E2M1 nibbles for NVFP4), NVFP4's e4m3 block scales, and the float32 scales (FP8: a scalar; FP8_BLOCK_SCALES: one per
/// 128×128 block, shaped [out/128, 1, in/128, 1]; NVFP4: scale_2, a scalar). Loaded from a static checkpoint, or made by
/// the exact quantizer when the graph is written: a weight the written graph does not use (a transformer part's other
/// blocks) is never quantized.
/// </summary>
public sealed record StoredWeight(QuantAlgo Algo, int InFeatures, int OutFeatures, Tensor Codes, Tensor? BlockScales, Tensor Scales)
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
            return new StoredWeight(algo, inFeatures, outFeatures, codes, blockScales, w.Tracer.Scalar(scale2));
        }
        var q = w.Stored("weight", TensorDType.F8E4M3, [outFeatures, inFeatures]);
        Tensor scales;
        if (algo == QuantAlgo.Fp8) scales = w.Tracer.Scalar(Scalar(w, "weight_scale"));
        else
        {
            long br = outFeatures / Fp8BlockScheme.BlockSize, bc = inFeatures / Fp8BlockScheme.BlockSize;
            var info = w.Info("weight_scale");
            if (!info.Shape.SequenceEqual(new[] { br, bc }))
                throw new CheckpointException(w.Origin, $"'{w.Path("weight_scale")}' has shape {info.ShapeText}; {algo.Name} implies [{br}, {bc}]");
            var blockScales = w.Read("weight_scale");
            for (int i = 0; i < blockScales.Length; i++) RequireScale(w, "weight_scale", blockScales[i], $" (block {i / bc}, {i % bc})");
            scales = w.Tracer.Const(blockScales, br, 1, bc, 1);
        }
        float? inputScale = null;
        if (w.Has("input_scale"))
        {
            if (algo == QuantAlgo.Fp8) inputScale = Scalar(w, "input_scale");
            else w.Skip("input_scale");  // FP8_BLOCK_SCALES quantizes activations per 1x128 group at run time
        }
        return new StoredWeight(algo, inFeatures, outFeatures, q, null, scales) { InputScale = inputScale };
    }

    /// <summary>A float linear weight quantized with the algorithm's exact scheme (NVFP4: scale_2 from
    /// <paramref name="sharedAmax"/> where q, k and v share one) when the graph is written: its constants' data quantize
    /// the weight on first use, once for all of them.</summary>
    public static StoredWeight Quantize(Weights w, QuantAlgo algo, int inFeatures, int outFeatures, SharedAmax? sharedAmax = null)
    {
        string name = w.Path("weight");
        var info = w.Info("weight");
        if (!SourceTensor.FloatingTypes.Contains(info.DType))
            throw new CheckpointException(w.Origin, $"'{name}' is {info.DType.SafeTensorsName()}; dynamic quantization takes F32, BF16 or F16 weights");
        if (!info.Shape.SequenceEqual(new long[] { outFeatures, inFeatures }))
            throw new CheckpointException(w.Origin, $"weight '{name}' has shape {info.ShapeText}, the config implies [{outFeatures}, {inFeatures}]");
        w.Use("weight");
        var source = w.Source;
        var quantized = new LazyQuantization(() =>
        {
            if (algo == QuantAlgo.Fp8 && info.DType is TensorDType.BF16 or TensorDType.F16)
            {
                // the same bytes as the scheme's Quantize, from the stored 16-bit values (no float32 copy, no dequant)
                var (codes, scale) = Fp8PerTensorScheme.QuantizeStored(name, info.DType, source.GetBytes(name));
                return new() { ["q"] = codes, ["scale"] = BitConverter.GetBytes(scale) };
            }
            var tensor = new SourceTensor(name, info.DType, info.Shape, source.ReadFloat32(name));
            var schemes = QuantizationSchemeRegistry.CreateDefault();
            schemes.TryGet(algo.Scheme, out var scheme);
            var q = sharedAmax is not null ? new Nvfp4Scheme().Quantize(tensor, sharedAmax.Value.Value) : scheme!.Quantize(tensor);
            return q.PartNames.Where(p => p != "dequant").ToDictionary(p => p, q.Bytes);
        }, $"quant:{algo.Name}:{name}:{info.DType}:{info.ShapeText}{(sharedAmax is null ? "" : ":amax-of:" + string.Join(",", sharedAmax.Weights))}");
        var t = w.Tracer;
        if (algo == QuantAlgo.Nvfp4)
            return new StoredWeight(algo, inFeatures, outFeatures,
                t.Initializer(name, TensorDType.U8, [outFeatures, inFeatures / 2], quantized.Part("packed")),
                t.Initializer(w.Path("weight_scale"), TensorDType.F8E4M3, [outFeatures, inFeatures / Nvfp4Scheme.BlockSize], quantized.Part("block_scale")),
                t.Initializer(w.Path("weight_scale_2"), TensorDType.F32, [], quantized.Part("scale_2")));
        long[] scaleShape = algo == QuantAlgo.Fp8 ? []
            : [outFeatures / Fp8BlockScheme.BlockSize, 1, inFeatures / Fp8BlockScheme.BlockSize, 1];
        return new StoredWeight(algo, inFeatures, outFeatures,
            t.Initializer(name, TensorDType.F8E4M3, [outFeatures, inFeatures], quantized.Part("q")), null,
            t.Initializer(w.Path("weight_scale"), TensorDType.F32, scaleShape, quantized.Part("scale")));
    }

    /// <summary>One weight's quantization, made when the first of its constants is written: the parts the graph's
    /// constants take (not the float dequant), by name.</summary>
    sealed class LazyQuantization(Func<Dictionary<string, byte[]>> quantize, string identity)
    {
        readonly Lazy<Dictionary<string, byte[]>> _parts = new(quantize);

        public IInitializerData Part(string part) => new PartData(this, part);

        sealed class PartData(LazyQuantization owner, string part) : IInitializerData
        {
            public string Identity { get; } = owner._identity + ":" + part;
            public void WriteTo(Stream sink) => sink.Write(owner._parts.Value[part]);
        }

        readonly string _identity = identity;
    }

    static float Scalar(Weights w, string key)
    {
        var info = w.Info(key);
        if (info.ElementCount != 1)
            throw new CheckpointException(w.Origin, $"'{w.Path(key)}' has shape {info.ShapeText}; a per-tensor scale (one value) was expected");
        return RequireScale(w, key, w.Read(key)[0]);
    }

    /// <summary>A stored scale multiplies (or, as <c>input_scale</c>, divides) every value of its linear: a NaN, infinite or
    /// negative one (a corrupt or mis-written checkpoint) would make the whole output NaN or wrong, so it is refused.</summary>
    static float RequireScale(Weights w, string key, float value, string where = "")
    {
        if (!float.IsFinite(value) || value < 0)
            throw new CheckpointException(w.Origin, $"'{w.Path(key)}'{where} is {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}; a quantization scale must be finite and not negative");
        return value;
    }
}
