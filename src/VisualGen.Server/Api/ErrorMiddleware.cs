using System.Text.Json;
using VisualGen.Pipelines;
using VisualGen.Server.Jobs;

namespace VisualGen.Server.Api;

/// <summary>
/// Turns refusals into OpenAI error bodies: <see cref="ApiException"/> as given, a pipeline's
/// <see cref="GenerationException"/> as 400 naming the request field of its parameter, Kestrel's body limit as 413, a data folder that refuses
/// a write as 507 (a delete: 503);
/// anything else is a logged 500 that names no internals.
/// </summary>
public sealed class ErrorMiddleware(RequestDelegate next, ILogger<ErrorMiddleware> log, JsonSerializerOptions json, Hosting.ServerOptions options)
{
    /// <summary>Retry-After of 503/507 answers when the data folder refuses a write or delete: time for an operator to act.</summary>
    public const int StorageRetryAfterSeconds = 60;

    /// <summary>The status logged and counted for a request whose client disconnected before its answer (nginx's code).</summary>
    public const int ClientClosedRequest = 499;

    /// <summary>Retry-After when the shared job store is unreachable: about a database restart.</summary>
    public const int StoreRetryAfterSeconds = 5;

    public async Task InvokeAsync(HttpContext http)
    {
        try
        {
            await next(http);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // the client went away; nothing to answer, but the log and /metrics count it as closed by the client (nginx's
            // 499), not as the 200 the response still held
            if (!http.Response.HasStarted) http.Response.StatusCode = ClientClosedRequest;
        }
        catch (Exception e) when (!http.Response.HasStarted)
        {
            var api = e switch
            {
                ApiException a => a,
                GenerationException g => ApiException.BadValue(PipelineParameter.Field(g.Parameter, PipelineParameter.IsVideoRoute(http.Request.Path)),
                    ClientText.WithoutPaths(PipelineParameter.Text(g))),
                BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
                    new ApiException(StatusCodes.Status413PayloadTooLarge, ApiException.InvalidRequest, null, "request_too_large",
                        $"The request body is larger than the server's limit of {options.MaxUploadBytes} bytes."),
                // a body the server cannot read (no multipart boundary, a malformed part header, a broken chunked encoding)
                BadHttpRequestException b => new ApiException(b.StatusCode, ApiException.InvalidRequest, "body", "invalid_value", b.Message),
                StorageException { IsDelete: true } s => new ApiException(StatusCodes.Status503ServiceUnavailable, "server_error", null,
                    "storage_unavailable", $"{s.Message} Nothing was deleted; retry later.") { RetryAfterSeconds = StorageRetryAfterSeconds },
                StorageException s => new ApiException(StatusCodes.Status507InsufficientStorage, "server_error", null,
                    "insufficient_storage", $"{s.Message} Nothing was stored; retry later.") { RetryAfterSeconds = StorageRetryAfterSeconds },
                Hosting.JobTimeoutException t => new ApiException(StatusCodes.Status503ServiceUnavailable, "server_error", null, "timeout", t.Message),
                Jobs.Postgres.StoreUnavailableException u => new ApiException(StatusCodes.Status503ServiceUnavailable, "server_error", null,
                    "store_unavailable", $"{u.Message} Retry later.") { RetryAfterSeconds = StoreRetryAfterSeconds },
                InvalidDataException d => new ApiException(StatusCodes.Status400BadRequest, ApiException.InvalidRequest, "body", "invalid_value", d.Message),
                _ => null,
            };
            if (api is null)
            {
                log.LogError(e, "unhandled error: {Message}", e.Message);
                api = new ApiException(StatusCodes.Status500InternalServerError, "server_error", null, "internal_error",
                    $"The server failed on this request (request id {http.TraceIdentifier}); see its log.");
            }
            else if (api.Status >= 500) log.LogError(e, "{Message}", e.Message);
            await Write(http, api, json);
        }
    }

    public static Task Write(HttpContext http, ApiException e, JsonSerializerOptions json)
    {
        http.Response.StatusCode = e.Status;
        if (e.Status == StatusCodes.Status401Unauthorized) http.Response.Headers.WWWAuthenticate = "Bearer";
        if (e.RetryAfterSeconds is int seconds) http.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return http.Response.WriteAsJsonAsync(ErrorBody.From(e), json);
    }
}
