using VisualGen.Pipelines;

namespace VisualGen.Server.Hosting;

/// <summary>Loads the pipeline the command line names (the library's loader) or the built-in demo model.</summary>
public static class PipelineLoading
{
    public static IGenerationPipeline Load(ServerOptions options) =>
        throw new NotSupportedException("TEMPORARY: the pipeline loader is not merged into this branch yet");
}
