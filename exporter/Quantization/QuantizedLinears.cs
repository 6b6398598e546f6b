using VisualGen.Checkpoints;
using VisualGen.Exporter.Modules;
using VisualGen.Quantization;

namespace VisualGen.Exporter.Quantization;

/// <summary>
/// Decides, linear by linear, how a component's linears enter the graph under a <see cref="QuantizationConfig"/>.
/// <b>Static</b> (the config came from the checkpoint): a linear with a <c>weight_scale</c> is loaded as it is stored;
/// one without (or one the config ignores) stays as it is. <b>Dynamic</b> (the config came from the user, the checkpoint
/// holds float weights): every linear the config does not ignore is quantized with the scheme's exact quantizer, when the graph is written
/// (<see cref="StoredWeight.Quantize"/>: only the weights the written graph uses).
/// A weight whose shape the algorithm's blocks do not divide stays unquantized (TensorRT-LLM's <c>ignore</c> does the
/// same) and <see cref="Log"/> says which; <see cref="Unquantized"/> lists them.
/// </summary>
public sealed class QuantizedLinears(QuantizationConfig config, bool fromCheckpoint, IProgress<string>? log = null)
{
    readonly List<string> _unquantized = [];
    readonly List<string> _quantized = [];
    readonly List<string> _leftOut = [];

    /// <summary>Survey mode: the trace stays unquantized, and <see cref="Quantized"/> lists the linears a dynamic
    /// quantization would quantize (what <c>quantize --model</c> writes), <see cref="LeftOut"/> those whose shape
    /// the algorithm cannot take.</summary>
    public bool SurveyOnly { get; init; }

    public QuantizationConfig Config => config;

    /// <summary>True when the checkpoint holds the quantized weights (static), false when they are quantized at build time.</summary>
    public bool FromCheckpoint => fromCheckpoint;

    /// <summary>"path: why" for each linear left unquantized because of its shape.</summary>
    public IReadOnlyList<string> Unquantized => _unquantized;

    /// <summary>The module paths of the linears quantized so far.</summary>
    public IReadOnlyList<string> Quantized => _quantized;

    /// <summary>The module paths of the linears left unquantized because of their shape.</summary>
    public IReadOnlyList<string> LeftOut => _leftOut;

    /// <summary>The quantized form of the linear at <paramref name="w"/>'s path, or null when it stays a plain linear.</summary>
    public QuantizedLinear? For(Weights w, int inFeatures, int outFeatures)
    {
        string path = w.ModulePath;
        bool stored = w.Has("weight_scale");
        if (config.IsIgnored(path))
        {
            if (stored)
                throw new CheckpointException(w.Origin, $"'{path}' has quantized weights but quantization_config ignores it ({config.KeyText})");
            return null;
        }
        if (stored && !fromCheckpoint)
            throw new CheckpointException(w.Origin, $"'{path}' already holds quantized weights; dynamic quantization ({config.Algo.Name}) takes float checkpoints");
        if (!stored && fromCheckpoint)
        {
            Report(path, "the checkpoint stores it unquantized (no weight_scale)");
            return null;
        }
        if (config.Algo.ShapeProblem(outFeatures, inFeatures) is { } why)
        {
            if (stored) throw new CheckpointException(w.Origin, $"'{path}' is stored quantized but {why}");
            _leftOut.Add(path);
            Report(path, why);
            return null;
        }
        if (SurveyOnly)
        {
            _quantized.Add(path);
            return null;
        }
        var weight = stored ? StoredWeight.Load(w, config.Algo, inFeatures, outFeatures)
            : StoredWeight.Quantize(w, config.Algo, inFeatures, outFeatures, SharedAmaxOf(w, path));
        _quantized.Add(path);
        return new QuantizedLinear(weight, weight.InputScale);
    }

    readonly Dictionary<string, SharedAmax> _sharedAmax = new(StringComparer.Ordinal);

    /// <summary>NVFP4: the amax q, k and v of one attention share (the largest of the three) when all three are quantized
    /// (what <c>quantize --model</c> writes); null for every other linear. Decided from the weights' names and shapes;
    /// the values are read once for the group, when the first of its weights is quantized.</summary>
    SharedAmax? SharedAmaxOf(Weights w, string path)
    {
        if (config.Algo != QuantAlgo.Nvfp4 || FusedProjections.GroupOf(path) is not { } members) return null;
        if (_sharedAmax.TryGetValue(members[0], out var shared)) return shared;
        if (members.Any(m => config.IsIgnored(m) || !w.Source.Contains(m + ".weight"))) return null;
        var infos = members.Select(m => w.Source.Info(m + ".weight")).ToList();
        if (infos.Any(i => i.Shape.Length != 2 || config.Algo.ShapeProblem(i.Shape[0], i.Shape[1]) is not null)) return null;
        var weights = members.Select(m => m + ".weight").ToList();
        var source = w.Source;
        return _sharedAmax[members[0]] = new SharedAmax(weights, new Lazy<float>(() => weights.Max(n => AbsMax.Of(source.ReadFloat32(n)))));
    }

    void Report(string path, string why)
    {
        _unquantized.Add($"{path}: {why}");
        log?.Report($"{path} left unquantized ({config.Algo.Name}): {why}");
    }
}

/// <summary>The weights whose largest amax one NVFP4 scale_2 comes from, and that amax, read on first use.</summary>
public sealed record SharedAmax(IReadOnlyList<string> Weights, Lazy<float> Value);
