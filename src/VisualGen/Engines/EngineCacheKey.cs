using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace VisualGen.Engines;

/// <summary>The cache key: SHA-256 (hex) of a canonical serialization of every <see cref="EngineKeyParts"/> field.</summary>
public static class EngineCacheKey
{
    const string Schema = "visualgen-engine-key/2";  // 2: manifests hold FileDigest, not one SHA-256 stream per file

    public static string Compute(EngineKeyParts parts)
    {
        // One "name=json-string" line per field in a fixed order: values cannot run into each other.
        var fields = new (string Name, string Value)[]
        {
            ("graph", parts.GraphHash), ("weights", parts.WeightFingerprint), ("backend", parts.Backend),
            ("backend_version", parts.BackendVersion), ("device", parts.Device), ("precision", parts.Precision),
            ("profiles", parts.Profiles), ("opset", parts.Opset.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("exporter_version", parts.ExporterVersion),
        };
        // the quantization line only where there is one, so unquantized keys stay what they were
        if (parts.Quantization.Length > 0) fields = [.. fields, ("quantization", parts.Quantization)];
        var sb = new StringBuilder(Schema).Append('\n');
        foreach (var (name, value) in fields) sb.Append(name).Append('=').Append(JsonSerializer.Serialize(value)).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }
}
