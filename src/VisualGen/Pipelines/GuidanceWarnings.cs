namespace VisualGen.Pipelines;

/// <summary>
/// Call arguments a pipeline takes that have no effect in the combination given, said as diffusers' QwenImagePipeline
/// says them (it logs both; FluxPipeline ignores them without a word): true classifier-free guidance (Qwen-Image,
/// FLUX.1) runs only with a negative prompt and a true_cfg_scale above 1. The generation runs as diffusers runs it.
/// </summary>
public static class GuidanceWarnings
{
    public static IReadOnlyList<string> Of(PipelineInfo info, GenerationRequest request)
    {
        if (!info.Takes(CallArguments.TrueCfgScale)) return [];
        double scale = request.TrueCfgScale ?? info.DefaultTrueCfgScale;
        bool negative = request.NegativePrompt is not null;
        if (request.TrueCfgScale is double given && given > 1 && !negative)
            return [$"true_cfg_scale is {Text(given)}, but true classifier-free guidance runs only with a negative prompt: it has no effect here (add a negative prompt)"];
        if (negative && scale <= 1)
            return [$"the negative prompt has no effect: true classifier-free guidance runs only with true_cfg_scale above 1 ({Text(scale)}{(request.TrueCfgScale is null ? $", {info.ClassName}'s default" : "")})"];
        return [];
    }

    static string Text(double v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
