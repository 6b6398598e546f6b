namespace VisualGen.Pipelines.Ltx2;

/// <summary>
/// One kind of LTX2VideoTransformer3DModel call in LTX2Pipeline, fixed when its graph is traced: the conditional /
/// unconditional call, the spatio-temporal-guidance call (self-attention of the given blocks perturbed) and the
/// modality-isolation call (no audio↔video attention), each with or without <c>use_cross_timestep</c>. Each kind is its
/// own graph, named by a part of the transformer component: "" (the default call, use_cross_timestep true),
/// "isolated", "stg_28" / "stg_1_2", and any of them with "no_cross_timestep" appended ("no_cross_timestep",
/// "isolated_no_cross_timestep", "stg_1_no_cross_timestep"); the pipeline asks for "transformer.stg_1" and so on.
/// </summary>
public sealed record Ltx2TransformerCall(bool UseCrossTimestep = true, bool IsolateModalities = false, IReadOnlyList<int>? StgBlocks = null)
{
    const string NoCrossTimestep = "no_cross_timestep", Isolated = "isolated", Stg = "stg";

    /// <summary>The component part naming this call's graph ("" for the default call).</summary>
    public string Part
    {
        get
        {
            var parts = new List<string>();
            if (IsolateModalities) parts.Add(Isolated);
            if (StgBlocks is { Count: > 0 } blocks) parts.Add(Stg + "_" + string.Join("_", blocks));
            if (!UseCrossTimestep) parts.Add(NoCrossTimestep);
            return string.Join("_", parts);
        }
    }

    /// <summary>The engine component name: "transformer" or "transformer.PART".</summary>
    public string Component(string transformer = "transformer") => Part.Length == 0 ? transformer : $"{transformer}.{Part}";

    /// <summary>Reads a part name back; false for anything <see cref="Part"/> does not produce.</summary>
    public static bool TryParse(string part, out Ltx2TransformerCall call)
    {
        call = new Ltx2TransformerCall();
        bool cross = true, isolated = false;
        var blocks = new List<int>();
        string rest = part;
        if (rest == NoCrossTimestep || rest.EndsWith("_" + NoCrossTimestep, StringComparison.Ordinal))
        {
            cross = false;
            rest = rest.Length == NoCrossTimestep.Length ? "" : rest[..^(NoCrossTimestep.Length + 1)];
        }
        if (rest == Isolated || rest.StartsWith(Isolated + "_", StringComparison.Ordinal))
        {
            isolated = true;
            rest = rest.Length == Isolated.Length ? "" : rest[(Isolated.Length + 1)..];
        }
        if (rest.StartsWith(Stg + "_", StringComparison.Ordinal))
        {
            foreach (var s in rest[(Stg.Length + 1)..].Split('_'))
            {
                if (s.Length == 0 || !s.All(char.IsAsciiDigit) || !int.TryParse(s, out int b)) return false;
                blocks.Add(b);
            }
            rest = "";
        }
        if (rest.Length != 0) return false;
        call = new Ltx2TransformerCall(cross, isolated, blocks.Count > 0 ? blocks : null);
        return call.Part == part;   // one spelling per call
    }

    public static Ltx2TransformerCall Parse(string part) => TryParse(part, out var call) ? call
        : throw new ArgumentException($"'{part}' names no LTX-2 transformer call (expected \"\", isolated, stg_N[_N...], optionally followed by _no_cross_timestep)", nameof(part));
}
