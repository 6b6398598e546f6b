using VisualGen.Pipelines;

namespace VisualGen.Server.Jobs;

/// <summary>Maps pipeline progress to OpenAI's 0-100 "progress": encode 2, denoise 5-90 by step, decode 92; 100 only when the file is written.</summary>
public static class ProgressPercent
{
    public static int Of(GenerationProgress p) => p.Stage switch
    {
        "encode" => 2,
        "denoise" when p.TotalSteps > 0 => 5 + (int)(85L * Math.Clamp(p.Step, 0, p.TotalSteps) / p.TotalSteps),
        "decode" => 92,
        _ => 5,
    };
}
