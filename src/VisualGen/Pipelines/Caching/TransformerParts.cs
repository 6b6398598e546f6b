using System.Globalization;
using VisualGen.Engines;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Caching;

/// <summary>
/// Names of the extra graphs a denoising transformer exports for step caches (TeaCache, Cache-DiT), traced on demand
/// only (<c>build</c> and the default path use the whole transformer). Tensors between parts are the token stream as a
/// grid, [batch, patch_frames, patch_height, patch_width, dim] for Wan, so a part knows the latent grid's size.
/// <list type="bullet">
/// <item><c>time_embedding</c>: timestep → <c>temb</c> (the tensor TeaCache compares between steps)</item>
/// <item><c>embed</c>: the transformer's inputs → <c>hidden</c>, the tokens before the first block</item>
/// <item><c>blocks_A_B</c>: <c>hidden</c> + the conditioning inputs → <c>hidden_out</c>, the tokens after blocks A..B-1</item>
/// <item><c>output</c>: <c>hidden</c> + the timestep → <c>sample</c> (output norm, projection, unpatchify)</item>
/// </list>
/// </summary>
public static class TransformerParts
{
    public const string TimeEmbedding = "time_embedding";
    public const string Embed = "embed";
    public const string Output = "output";

    public static string Blocks(int from, int to) => $"blocks_{from}_{to}";

    /// <summary>Parses <c>blocks_A_B</c> (0 ≤ A &lt; B); false for any other name.</summary>
    public static bool TryParseBlocks(string part, out int from, out int to)
    {
        from = to = 0;
        var p = part.Split('_');
        return p.Length == 3 && p[0] == "blocks"
            && int.TryParse(p[1], NumberStyles.None, CultureInfo.InvariantCulture, out from)
            && int.TryParse(p[2], NumberStyles.None, CultureInfo.InvariantCulture, out to)
            && from < to;
    }

    /// <summary>Whether <paramref name="part"/> is one of the on-demand parts of a transformer with <paramref name="blocks"/> blocks.</summary>
    public static bool IsPart(string part, int blocks) =>
        part is TimeEmbedding or Embed or Output || (TryParseBlocks(part, out _, out int to) && to <= blocks);

    /// <summary>TeaCache's compared tensor of the image DiTs (FLUX.1, FLUX.2, Qwen-Image): their time_embedding part
    /// (<paramref name="part"/>) on the step's timestep as the pipelines pass it (t / 1000) and the guidance where the
    /// model embeds one, run on the host (a few thousand values).</summary>
    public static float[] HostTimeEmbedding(IEngine part, float timestep, HostTensor? guidance = null)
    {
        var inputs = new Dictionary<string, HostTensor> { ["timestep"] = HostTensor.Float32([timestep], 1) };
        if (guidance is not null) inputs["guidance"] = guidance;
        return part.Run(inputs)["temb"].Floats;
    }
}
