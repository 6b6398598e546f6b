using System.Text;

namespace VisualGen.Tokenizers.Templates;

/// <summary>Variables of a render: the caller's values at the bottom, one frame per for loop (Jinja scoping: a
/// <c>set</c> inside a loop does not outlive it, which is why templates use <c>namespace</c>).</summary>
internal sealed class TemplateScope(IReadOnlyDictionary<string, object?> globals)
{
    readonly List<Dictionary<string, object?>> _frames = [new(globals)];

    public object? Lookup(string name)
    {
        for (int i = _frames.Count - 1; i >= 0; i--)
            if (_frames[i].TryGetValue(name, out var v)) return v;
        return Undefined.Value;
    }

    public void Set(string name, object? value) => _frames[^1][name] = value;

    public void Push() => _frames.Add([]);

    public void Pop() => _frames.RemoveAt(_frames.Count - 1);
}

internal enum Flow { Normal, Break, Continue }

internal abstract record Node
{
    public abstract Flow Render(StringBuilder output, TemplateScope scope);

    public static Flow RenderAll(List<Node> nodes, StringBuilder output, TemplateScope scope)
    {
        foreach (var n in nodes)
            if (n.Render(output, scope) is var flow and not Flow.Normal) return flow;
        return Flow.Normal;
    }
}

internal sealed record TextNode(string Text) : Node
{
    public override Flow Render(StringBuilder output, TemplateScope scope)
    {
        output.Append(Text);
        return Flow.Normal;
    }
}

internal sealed record OutputNode(Expr Value) : Node
{
    public override Flow Render(StringBuilder output, TemplateScope scope)
    {
        output.Append(TemplateValues.Text(Value.Eval(scope)));
        return Flow.Normal;
    }
}

internal sealed record IfNode(List<(Expr Condition, List<Node> Body)> Branches, List<Node> Otherwise) : Node
{
    public override Flow Render(StringBuilder output, TemplateScope scope)
    {
        foreach (var (condition, body) in Branches)
            if (TemplateValues.Truthy(condition.Eval(scope))) return RenderAll(body, output, scope);
        return RenderAll(Otherwise, output, scope);
    }
}

internal sealed record ForNode(List<string> Targets, Expr Items, Expr? Filter, List<Node> Body, List<Node> Otherwise) : Node
{
    public override Flow Render(StringBuilder output, TemplateScope scope)
    {
        var all = TemplateValues.Iterate(Items.Eval(scope), Items);
        List<object?> items = all;
        if (Filter is not null)
        {
            items = [];
            scope.Push();
            foreach (var item in all)
            {
                Bind(scope, item);
                if (TemplateValues.Truthy(Filter.Eval(scope))) items.Add(item);
            }
            scope.Pop();
        }
        if (items.Count == 0) return RenderAll(Otherwise, output, scope);
        scope.Push();
        try
        {
            for (int i = 0; i < items.Count; i++)
            {
                Bind(scope, items[i]);
                scope.Set("loop", new Dictionary<string, object?>
                {
                    ["index"] = (long)(i + 1), ["index0"] = (long)i, ["revindex"] = (long)(items.Count - i), ["revindex0"] = (long)(items.Count - i - 1),
                    ["first"] = i == 0, ["last"] = i == items.Count - 1, ["length"] = (long)items.Count,
                    ["previtem"] = i > 0 ? items[i - 1] : Undefined.Value, ["nextitem"] = i + 1 < items.Count ? items[i + 1] : Undefined.Value,
                });
                if (RenderAll(Body, output, scope) == Flow.Break) break;
            }
        }
        finally { scope.Pop(); }
        return Flow.Normal;
    }

    void Bind(TemplateScope scope, object? item)
    {
        if (Targets.Count == 1) { scope.Set(Targets[0], item); return; }
        if (item is not List<object?> parts || parts.Count != Targets.Count)
            throw new TemplateException($"cannot unpack {TemplateValues.TypeName(item)} into {Targets.Count} loop variables");
        for (int i = 0; i < Targets.Count; i++) scope.Set(Targets[i], parts[i]);
    }
}

/// <summary><c>{% set x = … %}</c>, <c>{% set ns.x = … %}</c> (namespace attribute), or a block <c>{% set x %}…{% endset %}</c>.</summary>
internal sealed record SetNode(string Name, string? Attribute, Expr? Value, List<Node>? Block) : Node
{
    public override Flow Render(StringBuilder output, TemplateScope scope)
    {
        object? value;
        if (Block is not null)
        {
            var captured = new StringBuilder();
            RenderAll(Block, captured, scope);
            value = captured.ToString();
        }
        else value = Value!.Eval(scope);
        if (Attribute is null) scope.Set(Name, value);
        else if (scope.Lookup(Name) is TemplateNamespace ns) ns[Attribute] = value;
        else throw new TemplateException($"cannot set '{Name}.{Attribute}': '{Name}' is not a namespace()");
        return Flow.Normal;
    }
}

internal sealed record LoopControlNode(Flow Flow) : Node
{
    public override Flow Render(StringBuilder output, TemplateScope scope) => Flow;
}
