using VisualGen.Pipelines.Caching;

namespace VisualGen.Pipelines.Ltx2;

/// <summary>
/// The step-cache parts of LTX2Pipeline's main (CFG) transformer call (<see cref="TransformerParts"/>): a step cache sees
/// one tensor per batch row, so the video and audio streams travel flattened and joined, video first, as do the two
/// predictions of the output part and the latents they are made from. The blocks parts of a call without
/// use_cross_timestep end in <c>_no_cross_timestep</c>; the embed, output and time-embedding parts do not depend on it.
/// </summary>
public static class Ltx2CacheLayout
{
    const string NoCrossTimestep = "_no_cross_timestep";

    /// <summary>The component part for <paramref name="part"/> (a <see cref="TransformerParts"/> name) of a call with or
    /// without use_cross_timestep.</summary>
    public static string Part(string part, bool useCrossTimestep) =>
        !useCrossTimestep && TransformerParts.TryParseBlocks(part, out _, out _) ? part + NoCrossTimestep : part;

    /// <summary>Reads a part name back: the <see cref="TransformerParts"/> name and the call's use_cross_timestep; false
    /// for anything <see cref="Part"/> does not produce.</summary>
    public static bool TryParsePart(string part, out string basePart, out bool useCrossTimestep)
    {
        useCrossTimestep = !part.EndsWith(NoCrossTimestep, StringComparison.Ordinal);
        basePart = useCrossTimestep ? part : part[..^NoCrossTimestep.Length];
        if (!useCrossTimestep && !TransformerParts.TryParseBlocks(basePart, out _, out _)) return false;
        return TransformerParts.IsPart(basePart, int.MaxValue);
    }

    /// <summary>A joined prediction [rows, video + audio per row] read back into the video's and the audio's: the first
    /// <paramref name="videoPerRow"/> values of each row are the video's (<see cref="Ltx2CachedCall"/> joins them).</summary>
    public static (float[] Video, float[] Audio) Split(float[] joined, int rows, int videoPerRow)
    {
        int width = joined.Length / rows, a = width - videoPerRow;
        var video = new float[rows * videoPerRow];
        var audio = new float[rows * a];
        for (int r = 0; r < rows; r++)
        {
            Array.Copy(joined, r * width, video, r * videoPerRow, videoPerRow);
            Array.Copy(joined, r * width + videoPerRow, audio, r * a, a);
        }
        return (video, audio);
    }
}
