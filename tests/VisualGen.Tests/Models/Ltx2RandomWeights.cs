using System.Text.Json;
using VisualGen.Checkpoints;

namespace VisualGen.Tests.Models;

/// <summary>Random float32 weights by checkpoint key for the LTX-2 random-checkpoint tests: written to a component
/// folder (safetensors + config.json) and kept by name for the tests' plain C# references.</summary>
sealed class Ltx2RandomWeights(int seed)
{
    readonly Random _rng = new(seed);
    public Dictionary<string, float[]> Values { get; } = new(StringComparer.Ordinal);
    readonly List<TensorData> _tensors = [];

    public float[] this[string key] => Values[key];

    public void Add(string name, long[] shape, float spread, float center = 0)
    {
        var v = new float[shape.Aggregate(1L, (a, b) => a * b)];
        for (int i = 0; i < v.Length; i++) v[i] = center + spread * (2 * _rng.NextSingle() - 1);
        Values[name] = v;
        _tensors.Add(TensorData.Float32(name, shape, v));
    }

    /// <summary>A conv or linear weight scaled by its fan-in, and (optionally) its bias.</summary>
    public void Layer(string prefix, long[] weightShape, long fanIn, bool bias = true, long? biasLength = null)
    {
        Add(prefix + ".weight", weightShape, 1.5f / MathF.Sqrt(fanIn));
        if (bias) Add(prefix + ".bias", [biasLength ?? weightShape[0]], 0.1f);
    }

    public string Write(string dir, object config)
    {
        Directory.CreateDirectory(dir);
        SafeTensorsWriter.Write(Path.Combine(dir, "diffusion_pytorch_model.safetensors"), _tensors);
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(config));
        return dir;
    }

    public float[] Random(int length, float spread = 1f)
    {
        var v = new float[length];
        for (int i = 0; i < v.Length; i++) v[i] = spread * (2 * _rng.NextSingle() - 1);
        return v;
    }
}
