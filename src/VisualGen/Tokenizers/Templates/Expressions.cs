namespace VisualGen.Tokenizers.Templates;

/// <summary>A Jinja expression; values are strings, longs, doubles, bools, null (none), <see cref="Undefined"/>,
/// <see cref="List{T}"/> of values and <see cref="Dictionary{TKey,TValue}"/> of string → value.</summary>
internal abstract record Expr
{
    public abstract object? Eval(TemplateScope scope);
}

internal sealed record Arg(string? Name, Expr Value);

internal sealed record Literal(object? Value) : Expr
{
    public override object? Eval(TemplateScope scope) => Value;
}

internal sealed record Variable(string Name) : Expr
{
    public override object? Eval(TemplateScope scope) => scope.Lookup(Name);
}

internal sealed record ListExpr(List<Expr> Items) : Expr
{
    public override object? Eval(TemplateScope scope) => Items.Select(i => i.Eval(scope)).ToList();
}

internal sealed record DictExpr(List<(Expr Key, Expr Value)> Entries) : Expr
{
    public override object? Eval(TemplateScope scope) =>
        Entries.ToDictionary(e => TemplateValues.Text(e.Key.Eval(scope)), e => e.Value.Eval(scope));
}

internal sealed record Conditional(Expr Condition, Expr Then, Expr Otherwise) : Expr
{
    public override object? Eval(TemplateScope scope) =>
        TemplateValues.Truthy(Condition.Eval(scope)) ? Then.Eval(scope) : Otherwise.Eval(scope);
}

internal sealed record Logical(Expr Left, Expr Right, bool IsAnd) : Expr
{
    public override object? Eval(TemplateScope scope)
    {
        var l = Left.Eval(scope);
        return TemplateValues.Truthy(l) == IsAnd ? Right.Eval(scope) : l;
    }
}

internal sealed record Negation(Expr Operand) : Expr
{
    public override object? Eval(TemplateScope scope) => !TemplateValues.Truthy(Operand.Eval(scope));
}

internal sealed record Binary(string Op, Expr Left, Expr Right) : Expr
{
    public override object? Eval(TemplateScope scope) => TemplateValues.Binary(Op, Left.Eval(scope), Right.Eval(scope));
}

internal sealed record Attribute(Expr Target, string Name) : Expr
{
    public override object? Eval(TemplateScope scope) => TemplateValues.Attribute(Target.Eval(scope), Name, Target);
}

internal sealed record Index(Expr Target, Expr Key) : Expr
{
    public override object? Eval(TemplateScope scope) => TemplateValues.Item(Target.Eval(scope), Key.Eval(scope), Target);
}

internal sealed record Slice(Expr Target, Expr? Start, Expr? Stop, Expr? Step) : Expr
{
    public override object? Eval(TemplateScope scope) =>
        TemplateValues.Slice(Target.Eval(scope), Start?.Eval(scope), Stop?.Eval(scope), Step?.Eval(scope));
}

internal sealed record Call(Expr Callee, List<Arg> Args) : Expr
{
    public override object? Eval(TemplateScope scope)
    {
        var args = Args.Select(a => (a.Name, a.Value.Eval(scope))).ToList();
        return Callee switch
        {
            Attribute a => TemplateMethods.Invoke(a.Target.Eval(scope), a.Name, args),
            Variable v => TemplateFunctions.Invoke(v.Name, args, scope),
            _ => throw new TemplateException($"'{Callee}' cannot be called"),
        };
    }
}

internal sealed record Filter(string Name, Expr Operand, List<Arg> Args) : Expr
{
    public override object? Eval(TemplateScope scope) =>
        TemplateFilters.Apply(Name, Operand.Eval(scope), Args.Select(a => (a.Name, a.Value.Eval(scope))).ToList());
}

internal sealed record Test(string Name, Expr Operand, List<Arg> Args, bool Negate) : Expr
{
    public override object? Eval(TemplateScope scope) =>
        TemplateFilters.Test(Name, Operand.Eval(scope), Args.Select(a => a.Value.Eval(scope)).ToList()) != Negate;
}

/// <summary>Jinja's undefined: renders as nothing, is false, and is an error when used further.</summary>
internal sealed class Undefined
{
    public static readonly Undefined Value = new();
    public override string ToString() => "";
}
