using System.Text.Json.Serialization;

namespace VisualGen.Server.Api;

/// <summary>OpenAI's error envelope: {"error": {"message", "type", "param", "code"}}.</summary>
public sealed record ErrorBody([property: JsonPropertyName("error")] ErrorDetail Error)
{
    public static ErrorBody From(ApiException e) => new(new ErrorDetail(e.Message, e.Type, e.Param, e.Code));
}

public sealed record ErrorDetail(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);
