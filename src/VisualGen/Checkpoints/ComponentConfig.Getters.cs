namespace VisualGen.Checkpoints;

/// <summary>
/// Typed reads, three per type: <c>GetInt(key)</c> requires the key; <c>GetInt(key, fallback)</c> takes the default
/// (diffusers' __init__ default) when it is absent; <c>GetOptionalInt(key, fallback)</c> also accepts null (None).
/// </summary>
public sealed partial class ComponentConfig
{
    public int GetInt(string key) => (int)Read(key, ConfigKind.Int);
    public long GetLong(string key) => (long)Read(key, ConfigKind.Long);
    public double GetDouble(string key) => (double)Read(key, ConfigKind.Double);
    public string GetString(string key) => (string)Read(key, ConfigKind.String);
    public bool GetBool(string key) => (bool)Read(key, ConfigKind.Bool);
    public int[] GetIntArray(string key) => (int[])Read(key, ConfigKind.IntArray);
    public double[] GetDoubleArray(string key) => (double[])Read(key, ConfigKind.DoubleArray);
    public string[] GetStringArray(string key) => (string[])Read(key, ConfigKind.StringArray);

    /// <summary>A nested object (for example <c>quantization_config</c>); its errors name the dotted key.</summary>
    public ComponentConfig GetObject(string key) => (ComponentConfig)Read(key, ConfigKind.Object);

    public int GetInt(string key, int fallback) => (int)Read(key, ConfigKind.Int, fallback);
    public double GetDouble(string key, double fallback) => (double)Read(key, ConfigKind.Double, fallback);
    public string GetString(string key, string fallback) => (string)Read(key, ConfigKind.String, fallback);
    public bool GetBool(string key, bool fallback) => (bool)Read(key, ConfigKind.Bool, fallback);
    public int[] GetIntArray(string key, int[] fallback) => (int[])Read(key, ConfigKind.IntArray, fallback);

    public int? GetOptionalInt(string key, int? fallback = null) => (int?)ReadOptional(key, ConfigKind.Int, fallback);
    public long? GetOptionalLong(string key, long? fallback = null) => (long?)ReadOptional(key, ConfigKind.Long, fallback);
    public double? GetOptionalDouble(string key, double? fallback = null) => (double?)ReadOptional(key, ConfigKind.Double, fallback);
    public string? GetOptionalString(string key, string? fallback = null) => (string?)ReadOptional(key, ConfigKind.String, fallback);
    public bool? GetOptionalBool(string key, bool? fallback = null) => (bool?)ReadOptional(key, ConfigKind.Bool, fallback);
    public int[]? GetOptionalIntArray(string key) => (int[]?)ReadOptional(key, ConfigKind.IntArray);
    public double[]? GetOptionalDoubleArray(string key) => (double[]?)ReadOptional(key, ConfigKind.DoubleArray);
    public string[]? GetOptionalStringArray(string key) => (string[]?)ReadOptional(key, ConfigKind.StringArray);
    public ComponentConfig? GetOptionalObject(string key) => (ComponentConfig?)ReadOptional(key, ConfigKind.Object);
}
