namespace VisualGen.Tokenizers.Templates;

/// <summary>Builds the node tree of a template from its pieces: text, output tags, and the statements
/// <c>if/elif/else</c>, <c>for … in … [if …]/else</c>, <c>set</c>, <c>break</c>, <c>continue</c>, and Hugging Face's
/// <c>generation</c> block (rendered as its content). Anything else (macros, includes, …) is refused by name.</summary>
internal sealed class TemplateParser(List<TemplatePiece> pieces)
{
    int _i;

    public static List<Node> Parse(string source)
    {
        var p = new TemplateParser(TemplateLexer.Split(source));
        var nodes = p.Block(out string? end);
        if (end is not null) throw new TemplateException($"'{{% {end} %}}' without its opening tag");
        return nodes;
    }

    /// <summary>Nodes up to a statement the caller closes on (endif, elif, …), returned in <paramref name="end"/> with its text.</summary>
    List<Node> Block(out string? end, params string[] closers)
    {
        var nodes = new List<Node>();
        while (_i < pieces.Count)
        {
            var piece = pieces[_i++];
            switch (piece.Kind)
            {
                case TemplatePieceKind.Text: nodes.Add(new TextNode(piece.Text)); break;
                case TemplatePieceKind.Output: nodes.Add(new OutputNode(ExpressionParser.Parse(piece.Text))); break;
                default:
                    string word = FirstWord(piece.Text);
                    if (closers.Contains(word) || word.StartsWith("end", StringComparison.Ordinal) || word is "elif" or "else")
                    {
                        if (!closers.Contains(word)) throw new TemplateException($"unexpected '{{% {word} %}}' at offset {piece.Offset}");
                        end = piece.Text;
                        return nodes;
                    }
                    nodes.Add(Statement(word, piece));
                    break;
            }
        }
        if (closers.Length > 0) throw new TemplateException($"the template ends before '{{% {closers[^1]} %}}'");
        end = null;
        return nodes;
    }

    static string FirstWord(string text)
    {
        int i = 0;
        while (i < text.Length && (char.IsAsciiLetter(text[i]) || text[i] == '_')) i++;
        return text[..i];
    }

    Node Statement(string word, TemplatePiece piece)
    {
        string rest = piece.Text[word.Length..];
        switch (word)
        {
            case "if": return If(rest);
            case "for": return For(rest);
            case "set": return Set(rest);
            case "break": return new LoopControlNode(Flow.Break);
            case "continue": return new LoopControlNode(Flow.Continue);
            case "generation":
                var body = Block(out _, "endgeneration");
                return new IfNode([(new Literal(true), body)], []);
            default: throw new TemplateException($"the tag '{{% {word} %}}' (offset {piece.Offset}) is not one this chat-template renderer supports");
        }
    }

    IfNode If(string condition)
    {
        var branches = new List<(Expr, List<Node>)>();
        var otherwise = new List<Node>();
        var current = ExpressionParser.Parse(condition);
        while (true)
        {
            var body = Block(out string? end, "elif", "else", "endif");
            branches.Add((current, body));
            string w = FirstWord(end!);
            if (w == "endif") break;
            if (w == "else")
            {
                otherwise = Block(out _, "endif");
                break;
            }
            current = ExpressionParser.Parse(end![w.Length..]);
        }
        return new IfNode(branches, otherwise);
    }

    ForNode For(string header)
    {
        var p = ExpressionParser.Over(header);
        var targets = new List<string> { p.Name() };
        while (p.Accept(",")) targets.Add(p.Name());
        p.Expect("in");
        var items = p.Expression();
        // "for x in xs if cond": Expression() took "if cond" as a conditional without else; split it back
        Expr? filter = null;
        if (items is Conditional { Otherwise: Literal { Value: Undefined } } c)
        {
            items = c.Then;
            filter = c.Condition;
        }
        if (p.Accept("recursive")) throw p.Error("recursive loops are not supported");
        p.ExpectEnd();
        var body = Block(out string? end, "else", "endfor");
        var otherwise = FirstWord(end!) == "else" ? Block(out _, "endfor") : [];
        return new ForNode(targets, items, filter, body, otherwise);
    }

    SetNode Set(string statement)
    {
        var p = ExpressionParser.Over(statement);
        string name = p.Name();
        string? attribute = p.Accept(".") ? p.Name() : null;
        if (p.AtEnd)
        {
            var block = Block(out _, "endset");
            return new SetNode(name, attribute, null, block);
        }
        p.Expect("=");
        var value = p.Expression();
        p.ExpectEnd();
        return new SetNode(name, attribute, value, null);
    }
}
