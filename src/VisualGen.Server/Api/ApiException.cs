namespace VisualGen.Server.Api;

/// <summary>A request the server refuses; becomes an OpenAI-style error body with this status.</summary>
public sealed class ApiException(int status, string type, string? param, string code, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string? Param { get; } = param;
    public string Code { get; } = code;
    /// <summary>Answered as the Retry-After header (seconds) when set: 429 and 503, which a client should retry.</summary>
    public int? RetryAfterSeconds { get; init; }

    public const string InvalidRequest = "invalid_request_error";

    public static ApiException BadValue(string param, string message) =>
        new(StatusCodes.Status400BadRequest, InvalidRequest, param, "invalid_value", message);

    public static ApiException Missing(string param) =>
        new(StatusCodes.Status400BadRequest, InvalidRequest, param, "missing_required_parameter", $"Missing required parameter: '{param}'.");

    public static ApiException NotFound(string what, string id) =>
        new(StatusCodes.Status404NotFound, InvalidRequest, null, "not_found", $"No {what} with id '{id}' found.");
}
