using System.Security.Cryptography;
using System.Text;

namespace VisualGen.Exporter.Graph;

/// <summary>A traced graph: inputs, outputs, nodes in topological order, and initializers.</summary>
public sealed class Graph(string name)
{
    public string Name { get; } = name;
    public List<GraphPort> Inputs { get; } = [];
    public List<GraphPort> Outputs { get; } = [];
    public List<GraphNode> Nodes { get; } = [];
    public List<Initializer> Initializers { get; } = [];
    /// <summary>Free-form facts written into the model's metadata (config values, exporter version).</summary>
    public Dictionary<string, string> Metadata { get; } = [];

    public long InitializerBytes => Initializers.Sum(i => i.ByteLength);

    /// <summary>A hash of the graph's structure and of each initializer's identity (not its bytes): cheap, and it
    /// changes whenever the exported file would.</summary>
    public string StructureHash()
    {
        var sb = new StringBuilder();
        foreach (var p in Inputs) sb.Append("in ").Append(p.Value).Append(string.Join(",", p.Dims)).Append('\n');
        foreach (var p in Outputs) sb.Append("out ").Append(p.Value).Append(string.Join(",", p.Dims)).Append('\n');
        foreach (var i in Initializers) sb.Append("init ").Append(i.Value).Append(string.Join(",", i.Shape)).Append(i.Data.Identity).Append('\n');
        foreach (var n in Nodes)
        {
            sb.Append(n.Domain).Append(':').Append(n.OpType).Append(' ').Append(n.Name).Append('(');
            sb.Append(string.Join(",", n.Inputs.Select(v => v?.Name ?? ""))).Append(")->");
            sb.Append(string.Join(",", n.Outputs.Select(v => v.Name)));
            foreach (var (k, v) in n.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal)) sb.Append(' ').Append(k).Append('=').Append(AttrText(v));
            sb.Append('\n');
        }
        foreach (var (k, v) in Metadata.OrderBy(a => a.Key, StringComparer.Ordinal)) sb.Append("meta ").Append(k).Append('=').Append(v).Append('\n');
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString()))).ToLowerInvariant();
    }

    /// <summary>Drops the nodes no output depends on and the initializers no remaining node reads: a graph traced from
    /// a whole model for one part of it (a step cache's transformer parts) keeps only that part's weights.</summary>
    public void RemoveUnused()
    {
        var (kept, needed) = Live();
        Nodes.Clear();
        Nodes.AddRange(kept);
        Initializers.RemoveAll(i => !needed.Contains(i.Value));
    }

    /// <summary>The initializers the outputs depend on (what <see cref="RemoveUnused"/> keeps), without changing the graph.</summary>
    public IEnumerable<Initializer> LiveInitializers()
    {
        var (_, needed) = Live();
        return Initializers.Where(i => needed.Contains(i.Value));
    }

    /// <summary>The nodes the outputs depend on, in order, and every value they read.</summary>
    (List<GraphNode> Kept, HashSet<GraphValue> Needed) Live()
    {
        var needed = new HashSet<GraphValue>(Outputs.Select(o => o.Value));
        var kept = new List<GraphNode>();
        for (int i = Nodes.Count - 1; i >= 0; i--)
        {
            var n = Nodes[i];
            if (!n.Outputs.Any(needed.Contains)) continue;
            kept.Add(n);
            foreach (var v in n.Inputs) if (v is not null) needed.Add(v);
        }
        kept.Reverse();
        return (kept, needed);
    }

    static string AttrText(object v) => v switch
    {
        long[] a => string.Join(",", a),
        float[] a => string.Join(",", a.Select(x => x.ToString("R"))),
        float f => f.ToString("R"),
        _ => v.ToString() ?? "",
    };
}
