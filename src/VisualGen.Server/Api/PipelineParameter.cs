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
        _ => argument,
    };

    /// <summary>Whether a request path is one of the video routes.</summary>
    public static bool IsVideoRoute(PathString path) => path.StartsWithSegments("/v1/videos");
}
