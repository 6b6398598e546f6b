using System.Text.Json;

namespace VisualGen.Checkpoints;

/// <summary>
/// A type a config value is read as: its name in error messages ("an integer") and its conversion from JSON.
/// <see cref="ComponentConfig"/> reads every key through one of these, and so does its record mapping.
/// </summary>
abstract class ConfigKind(string name)
{
    /// <summary>"an integer", "an array of numbers"...: what an error says was expected.</summary>
    public string Name => name;

    /// <summary>The value of a non-null JSON element; throws naming the file and key when it is of another kind.</summary>
    public abstract object Read(ComponentConfig config, string key, JsonElement value);

    public static readonly ScalarKind Long = new("an integer", "integers", TryLong);
    public static readonly ScalarKind Int = new("an integer", "integers",
        e => TryLong(e) is long v && v is >= int.MinValue and <= int.MaxValue ? (int)v : null);
    public static readonly ScalarKind Float = new("a number", "numbers",
        e => e.ValueKind == JsonValueKind.Number && e.TryGetSingle(out float v) ? v : null);
    public static readonly ScalarKind Double = new("a number", "numbers",
        e => e.ValueKind == JsonValueKind.Number ? e.GetDouble() : null);
    public static readonly ScalarKind String = new("a string", "strings",
        e => e.ValueKind == JsonValueKind.String ? e.GetString() : null);
    public static readonly ScalarKind Bool = new("a boolean", "booleans", e => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    });
    public static readonly ConfigKind IntArray = new ArrayKind(Int, typeof(int));
    public static readonly ConfigKind FloatArray = new ArrayKind(Float, typeof(float));
    public static readonly ConfigKind DoubleArray = new ArrayKind(Double, typeof(double));
    public static readonly ConfigKind StringArray = new ArrayKind(String, typeof(string));
    public static readonly ConfigKind BoolArray = new ArrayKind(Bool, typeof(bool));
    public static readonly ConfigKind Object = new ObjectKind();

    static object? TryLong(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Number) return null;
        if (e.TryGetInt64(out long v)) return v;
        // Python writes some integers as floats (3.0): exact integral values are accepted, others are not.
        double d = e.GetDouble();
        return d == Math.Floor(d) && Math.Abs(d) < 9.0e15 ? (long)d : null;
    }

    /// <summary>How errors name a JSON value's kind ("an array", "a string"...).</summary>
    public static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };
}

/// <summary>A single JSON value: number, string or boolean. <c>convert</c> returns null when the element is not one.</summary>
sealed class ScalarKind(string name, string plural, Func<JsonElement, object?> convert) : ConfigKind(name)
{
    /// <summary>"integers", as in "an array of integers".</summary>
    public string Plural => plural;

    public object? TryConvert(JsonElement value) => convert(value);

    public override object Read(ComponentConfig config, string key, JsonElement value) =>
        convert(value) ?? throw config.WrongKind(key, Name, value);
}

/// <summary>A JSON array whose items are all of one scalar kind; read as a CLR array of the item type.</summary>
sealed class ArrayKind(ScalarKind item, Type itemType) : ConfigKind("an array of " + item.Plural)
{
    public override object Read(ComponentConfig config, string key, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array) throw config.WrongKind(key, Name, value);
        var result = Array.CreateInstance(itemType, value.GetArrayLength());
        int i = 0;
        foreach (var x in value.EnumerateArray())
        {
            result.SetValue(item.TryConvert(x) ?? throw config.WrongKind(key, Name, x, i), i);
            i++;
        }
        return result;
    }
}

/// <summary>A nested JSON object (quantization_config, text_config...), read as a <see cref="ComponentConfig"/> whose
/// errors name the dotted key.</summary>
sealed class ObjectKind() : ConfigKind("an object")
{
    public override object Read(ComponentConfig config, string key, JsonElement value) =>
        value.ValueKind == JsonValueKind.Object ? config.Nested(key, value) : throw config.WrongKind(key, Name, value);
}

/// <summary>A nested JSON object read as a config record (Qwen2.5-VL's text_config, rope_parameters).</summary>
sealed class RecordKind(Type recordType) : ConfigKind("an object")
{
    public override object Read(ComponentConfig config, string key, JsonElement value) =>
        ((ComponentConfig)Object.Read(config, key, value)).ToRecord(recordType);
}
