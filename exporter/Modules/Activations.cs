using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>transformers' ACT2FN by config name (<c>hidden_act</c>, <c>dense_act_fn</c>): a registry, so a config
/// naming an activation we do not have fails with the name instead of silently running another one.</summary>
public static class Activations
{
    static readonly Dictionary<string, Func<Tensor, Tensor>> ByName = new(StringComparer.Ordinal)
    {
        ["gelu"] = x => x.Gelu(tanhApproximation: false),
        ["gelu_new"] = x => x.Gelu(tanhApproximation: true),
        ["gelu_pytorch_tanh"] = x => x.Gelu(tanhApproximation: true),
        ["quick_gelu"] = x => x * (x * 1.702f).Sigmoid(),
        ["relu"] = x => x.Relu(),
        ["silu"] = x => x.Silu(),
        ["swish"] = x => x.Silu(),
    };

    public static IReadOnlyCollection<string> Names => ByName.Keys;

    /// <summary>The activation named <paramref name="name"/>; <paramref name="origin"/> (the config file) is named in the error.</summary>
    public static Func<Tensor, Tensor> Get(string name, string? origin) =>
        ByName.TryGetValue(name, out var f) ? f
            : throw new Checkpoints.CheckpointException(origin, $"activation '{name}' is not supported (known: {string.Join(", ", ByName.Keys)})");
}
