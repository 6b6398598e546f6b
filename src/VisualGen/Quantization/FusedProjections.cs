namespace VisualGen.Quantization;

/// <summary>
/// Linears one fused GEMM computes where NVFP4 runs: q, k and v of one attention (diffusers' <c>to_q/to_k/to_v</c>,
/// and <c>add_q_proj/add_k_proj/add_v_proj</c> of a joint attention's context stream). ModelOpt gives them one
/// <c>weight_scale_2</c>, from the largest amax of the three.
/// </summary>
public static class FusedProjections
{
    static readonly string[][] Groups = [["to_q", "to_k", "to_v"], ["add_q_proj", "add_k_proj", "add_v_proj"]];

    /// <summary>The module paths of <paramref name="path"/>'s group (itself included), or null when it is in none.</summary>
    public static string[]? GroupOf(string path)
    {
        int dot = path.LastIndexOf('.');
        string parent = path[..(dot + 1)], leaf = path[(dot + 1)..];
        return Groups.FirstOrDefault(g => g.Contains(leaf))?.Select(m => parent + m).ToArray();
    }
}
