using System.Collections.Frozen;
using System.Reflection;
using System.Text.Json;

namespace VisualGen.Checkpoints;

/// <summary>The mapping of a config onto a plain record (the exporter's model configs, the VAE configs).</summary>
public sealed partial class ComponentConfig
{
    static readonly FrozenDictionary<Type, ConfigKind> KindsByType = new Dictionary<Type, ConfigKind>
    {
        [typeof(int)] = ConfigKind.Int,
        [typeof(long)] = ConfigKind.Long,
        [typeof(float)] = ConfigKind.Float,
        [typeof(double)] = ConfigKind.Double,
        [typeof(string)] = ConfigKind.String,
        [typeof(bool)] = ConfigKind.Bool,
        [typeof(int[])] = ConfigKind.IntArray,
        [typeof(float[])] = ConfigKind.FloatArray,
        [typeof(double[])] = ConfigKind.DoubleArray,
        [typeof(string[])] = ConfigKind.StringArray,
        [typeof(bool[])] = ConfigKind.BoolArray,
    }.ToFrozenDictionary();

    /// <summary>
    /// The config as a record whose public init properties are its snake_case keys in PascalCase (diffusers' names,
    /// unchanged; <c>ZDim</c> is <c>z_dim</c>). A property keeps its initializer (the diffusers default) when its key
    /// is absent and becomes null when the key is null and the property is nullable; keys without a property are
    /// ignored, as diffusers does. Values are read as the typed getters read them, with the same errors.
    /// </summary>
    public T ToRecord<T>() where T : new() => (T)ToRecord(typeof(T));

    internal object ToRecord(Type recordType)
    {
        var record = Activator.CreateInstance(recordType)!;
        var nullability = new NullabilityInfoContext();
        foreach (var p in recordType.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.SetMethod is not { IsPublic: true }) continue;
            string key = JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name);
            var valueType = Nullable.GetUnderlyingType(p.PropertyType);
            bool nullable = valueType is not null || nullability.Create(p).WriteState == NullabilityState.Nullable;
            var kind = KindOf(valueType ?? p.PropertyType);
            object? initial = p.GetValue(record);
            p.SetValue(record, nullable ? ReadOptional(key, kind, initial) : Read(key, kind, initial));
        }
        return record;
    }

    static ConfigKind KindOf(Type type) =>
        KindsByType.TryGetValue(type, out var kind) ? kind
            : type.IsClass && type.GetConstructor(Type.EmptyTypes) is not null ? new RecordKind(type)
            : throw new NotSupportedException($"config records cannot hold a {type.Name} (supported: numbers, strings, booleans, arrays of them, nested records)");
}
