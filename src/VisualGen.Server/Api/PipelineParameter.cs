using VisualGen.Pipelines;

namespace VisualGen.Server.Api;

/// <summary>
/// The request field a pipeline's call argument arrives in. Pipelines name what they refuse by diffusers' call
/// arguments (<c>height</c>, <c>image</c>, <c>mask_image</c>); a client of this server sent <c>size</c>,
/// <c>input_reference</c> or <c>mask</c>, so an error's <c>param</c> names those.
/// </summary>
public static class PipelineParameter
{
    /// <summary>The field for <paramref name="argument"/> on a video route (<paramref name="video"/>) or an image route;
    /// an argument with a field of the same name (or none) is returned as it is.</summary>
    public static string Field(string argument, bool video) => argument switch
    {
        "height" or "width" => "size",
        "image" => video ? "input_reference" : "image",
        "mask_image" => "mask",
        // a request's TeaCache is teacache_thresh with the model's shipped table: there is no teacache_coefficients field
        "teacache_coefficients" => "teacache_thresh",
        _ => argument,
    };

    /// <summary>A pipeline's refusal as a client of this server reads it: a family without a shipped TeaCache table asks
    /// for coefficients, which a request cannot send, so the text says where they come from here.</summary>
    public static string Text(GenerationException e) => e.Parameter == "teacache_coefficients"
        ? $"{e.Message} (this server takes teacache_thresh with the model's shipped coefficients only; TeaCache with coefficients is the server's --config cache_config, for requests that send no teacache_thresh)"
        : e.Message;

    /// <summary>Whether a request path is one of the video routes.</summary>
    public static bool IsVideoRoute(PathString path) => path.StartsWithSegments("/v1/videos");
}
