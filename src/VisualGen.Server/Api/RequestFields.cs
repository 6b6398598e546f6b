using System.Globalization;
using System.Text.Json;

namespace VisualGen.Server.Api;

/// <summary>
/// The fields of one request body, JSON object or multipart form alike (OpenAI takes both for videos
/// and edits). Getters turn a wrong type or range into a 400 naming the field.
/// </summary>
public sealed class RequestFields
{
    readonly Dictionary<string, string?> _text = new(StringComparer.Ordinal);
    readonly Dictionary<string, JsonElement> _json = new(StringComparer.Ordinal);
    public IFormFileCollection Files { get; }

    RequestFields(IFormFileCollection files) => Files = files;

    public static RequestFields FromJson(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw ApiException.BadValue("body", "The request body must be a JSON object.");
        RequireDecodableText(root);
        var f = new RequestFields(new FormFileCollection());
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in root.EnumerateObject())
        {
            // System.Text.Json keeps every duplicate; the last would win silently
            if (!seen.Add(p.Name)) throw Duplicate(p.Name);
            if (p.Value.ValueKind != JsonValueKind.Null) f._json[p.Name] = p.Value.Clone();
        }
        return f;
    }

    /// <summary>
    /// System.Text.Json decodes strings only when they are read: invalid UTF-8 bytes or an escaped lone surrogate
    /// ("\ud800") would throw InvalidOperationException from a getter deep in validation (a 500). Every name and
    /// string of the body is decoded once here instead, and a failure is a 400 about the body.
    /// </summary>
    static void RequireDecodableText(JsonElement root)
    {
        static void Walk(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var p in e.EnumerateObject())
                    {
                        _ = p.Name;
                        Walk(p.Value);
                    }
                    break;
                case JsonValueKind.Array:
                    foreach (var item in e.EnumerateArray()) Walk(item);
                    break;
                case JsonValueKind.String:
                    _ = e.GetString();
                    break;
            }
        }
        try
        {
            Walk(root);
        }
        catch (InvalidOperationException)
        {
            throw ApiException.BadValue("body",
                "The request body is not valid text: a string or field name holds bytes that are not UTF-8, or an escaped lone surrogate (\\uD800-\\uDFFF without its pair).");
        }
    }

    public static RequestFields FromForm(IFormCollection form)
    {
        var f = new RequestFields(form.Files);
        foreach (var (k, v) in form)
        {
            if (v.Count > 1) throw Duplicate(k);
            f._text[k] = v.ToString();
        }
        return f;
    }

    static ApiException Duplicate(string name) =>
        ApiException.BadValue(name, $"'{name}' appears more than once in the request body; send it once.");

    /// <summary>Reads a JSON or multipart body; any other content type, or a compressed body, is a 415.</summary>
    public static async Task<RequestFields> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        // a compressed body (Content-Encoding: gzip, ...) is not decoded here: it read as malformed JSON or multipart, a 400
        if (request.Headers.ContentEncoding.ToString() is { Length: > 0 } encoding
            && !encoding.Trim().Equals("identity", StringComparison.OrdinalIgnoreCase))
            throw new ApiException(StatusCodes.Status415UnsupportedMediaType, ApiException.InvalidRequest, "body", "unsupported_media_type",
                $"Content-Encoding '{encoding}' is not supported; send the body uncompressed.");
        if (IsMultipart(request))
        {
            IFormCollection form;
            try
            {
                form = await request.ReadFormAsync(ct);
            }
            catch (IOException e) when (e is not BadHttpRequestException && !ct.IsCancellationRequested)
            {
                // the multipart reader: "Unexpected end of Stream" when the body stops before its closing boundary (the
                // body limit's BadHttpRequestException is an IOException too, answered as 413)
                throw ApiException.BadValue("body",
                    "The multipart/form-data body ended before its closing boundary ('--' + the boundary + '--'); it is cut off or malformed.");
            }
            return FromForm(form);
        }
        if (request.HasJsonContentType())
        {
            try
            {
                using var doc = await JsonDocument.ParseAsync(request.Body, cancellationToken: ct);
                return FromJson(doc.RootElement);
            }
            catch (JsonException e)
            {
                throw ApiException.BadValue("body", $"The request body is not valid JSON: {e.Message}");
            }
        }
        string hint = request.HasFormContentType
            ? " (curl -d sends application/x-www-form-urlencoded: add -H 'Content-Type: application/json' for a JSON body)" : "";
        throw new ApiException(StatusCodes.Status415UnsupportedMediaType, ApiException.InvalidRequest, "body", "unsupported_media_type",
            $"Content-Type '{request.ContentType}' is not supported; send application/json or multipart/form-data{hint}.");
    }

    /// <summary>multipart/form-data (HasFormContentType is also true of application/x-www-form-urlencoded, which OpenAI's API does not take).</summary>
    public static bool IsMultipart(HttpRequest request) =>
        request.HasFormContentType && request.ContentType!.TrimStart().StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Refuses a file part the endpoint does not take (one named like a text field is told to be sent as text), as
    /// <see cref="RefuseUnknown"/> does for text fields; and a text field sent where a file part is expected.
    /// </summary>
    public void RefuseUnexpectedFiles(IReadOnlySet<string> fileFields, IReadOnlySet<string> textFields, string endpoint)
    {
        foreach (var file in Files)
        {
            if (fileFields.Contains(file.Name)) continue;
            string why = textFields.Contains(file.Name) ? $"'{file.Name}' was sent as a file part; send it as a text field."
                : fileFields.Count == 0 ? $"Unexpected file part '{file.Name}'; {endpoint} takes no files."
                : $"Unexpected file part '{file.Name}'; {endpoint} takes the file parts {string.Join(", ", fileFields.Order(StringComparer.Ordinal).Select(n => $"'{n}'"))}.";
            throw new ApiException(StatusCodes.Status400BadRequest, ApiException.InvalidRequest, file.Name, "unsupported_parameter", why);
        }
        foreach (var name in fileFields.Order(StringComparer.Ordinal))
            if (Has(name))
                throw ApiException.BadValue(name,
                    $"'{name}' must be an image file part of a multipart/form-data request (PNG), not a text or JSON field.");
    }

    /// <summary>
    /// Refuses a field the endpoint does not take, as OpenAI does ("Unrecognized request argument supplied"): a
    /// misspelt or unsupported option is an error, never silently ignored. File parts are checked by the endpoints.
    /// </summary>
    public void RefuseUnknown(IReadOnlySet<string> known, string endpoint)
    {
        foreach (var name in _json.Keys.Concat(_text.Keys).Order(StringComparer.Ordinal))
            if (!known.Contains(name))
                throw new ApiException(StatusCodes.Status400BadRequest, ApiException.InvalidRequest, name, "unknown_parameter",
                    $"Unrecognized request argument supplied: '{name}'. {endpoint} takes: {string.Join(", ", known.Order(StringComparer.Ordinal))}.");
    }

    public bool Has(string name) => _json.ContainsKey(name) || _text.ContainsKey(name);

    public string? String(string name)
    {
        if (_text.TryGetValue(name, out var t)) return t;
        if (!_json.TryGetValue(name, out var e)) return null;
        return e.ValueKind == JsonValueKind.String ? e.GetString()
            : throw ApiException.BadValue(name, $"'{name}' must be a string, got {Kind(e)}.");
    }

    /// <summary>
    /// The field as an integer in [min, max]. JSON does not tell integers from other numbers (clients that hold numbers as
    /// doubles send 4.0 or 1e3), so an integral value is taken however it is written, as OpenAI's API takes it; a fraction
    /// is not an integer, and an integer past the range is out of range however many digits it has.
    /// </summary>
    public long? Integer(string name, long min, long max)
    {
        string? raw = Raw(name, out bool isString);
        if (raw is null) return null;
        const NumberStyles Style = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;
        // a digit or point first: double.TryParse also reads "Infinity" and "NaN"
        double d = 0;
        bool isNumber = raw.TrimStart('+', '-') is [(>= '0' and <= '9') or '.', ..]
            && double.TryParse(raw, Style, CultureInfo.InvariantCulture, out d);
        // decimal is exact to 28 digits (9223372036854775807.0 is long.MaxValue, 1.0000000000000000001 is no integer); past
        // its range (about 7.9e28) every double is integral and far beyond any limit
        bool isExact = decimal.TryParse(raw, Style, CultureInfo.InvariantCulture, out decimal m);
        if (!isNumber || d != Math.Floor(d) || (isExact && m != decimal.Truncate(m)))
            throw ApiException.BadValue(name, $"'{name}' must be an integer, got {(isString ? "'" + raw + "'" : raw)}.");
        if (!isExact || m < min || m > max)
            throw ApiException.BadValue(name, $"'{name}' must be in [{min}, {max}], got {raw}.");
        return (long)m;
    }

    /// <summary>The field as a number in [min, max], or in (min, max] when <paramref name="minExclusive"/>.</summary>
    public double? Number(string name, double min, double max, bool minExclusive = false)
    {
        string? raw = Raw(name, out bool isString);
        if (raw is null) return null;
        if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw ApiException.BadValue(name, $"'{name}' must be a number, got {(isString ? "'" + raw + "'" : raw)}.");
        if (v < min || v > max || (minExclusive && v == min))
            throw ApiException.BadValue(name, $"'{name}' must be in {(minExclusive ? "(" : "[")}{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}], got {v.ToString(CultureInfo.InvariantCulture)}.");
        return v;
    }

    /// <summary>The field as text: JSON numbers and numeric strings both pass (OpenAI sends seconds as "4").</summary>
    string? Raw(string name, out bool isString)
    {
        isString = true;
        if (_text.TryGetValue(name, out var t)) return t;
        if (!_json.TryGetValue(name, out var e)) return null;
        if (e.ValueKind == JsonValueKind.String) return e.GetString();
        isString = false;
        return e.ValueKind == JsonValueKind.Number ? e.GetRawText()
            : throw ApiException.BadValue(name, $"'{name}' must be a number, got {Kind(e)}.");
    }

    static string Kind(JsonElement e) => e.ValueKind.ToString().ToLowerInvariant();
}
