using System.Globalization;
using System.Text;

namespace VisualGen.Tokenizers.Templates;

/// <summary>
/// Parses a Jinja expression with Jinja's precedence, lowest first: <c>a if c else b</c>; <c>or</c>; <c>and</c>;
/// <c>not</c>; comparisons and <c>in</c>; <c>+ -</c>; <c>~</c>; <c>* / // %</c>; unary minus; then a primary with its
/// attributes, subscripts, calls, filters (<c>|f(…)</c>) and tests (<c>is [not] t</c>).
/// </summary>
internal sealed class ExpressionParser
{
    readonly List<string> _tokens;
    readonly string _source;
    int _i;

    ExpressionParser(string source)
    {
        _source = source;
        _tokens = Tokenize(source);
    }

    /// <summary>Parses all of <paramref name="source"/> as one expression.</summary>
    public static Expr Parse(string source)
    {
        var p = new ExpressionParser(source);
        var e = p.Expression();
        p.ExpectEnd();
        return e;
    }

    /// <summary>For statement tags: a parser positioned on the tag's words.</summary>
    public static ExpressionParser Over(string source) => new(source);

    public bool AtEnd => _i >= _tokens.Count;
    public string? Peek => _i < _tokens.Count ? _tokens[_i] : null;

    public void ExpectEnd()
    {
        if (!AtEnd) throw Error($"unexpected '{Peek}'");
    }

    public TemplateException Error(string problem) => new($"{problem} in '{_source}'");

    public string Next() => _i < _tokens.Count ? _tokens[_i++] : throw Error("unexpected end");

    public bool Accept(string token)
    {
        if (Peek != token) return false;
        _i++;
        return true;
    }

    public void Expect(string token)
    {
        if (!Accept(token)) throw Error($"expected '{token}'{(AtEnd ? " at the end" : $", found '{Peek}'")}");
    }

    public string Name()
    {
        string t = Next();
        if (!IsName(t)) throw Error($"expected a name, found '{t}'");
        return t;
    }

    public Expr Expression()
    {
        var e = Or();
        if (!Accept("if")) return e;
        var condition = Or();
        var otherwise = Accept("else") ? Expression() : new Literal(Undefined.Value);
        return new Conditional(condition, e, otherwise);
    }

    Expr Or()
    {
        var e = And();
        while (Accept("or")) e = new Logical(e, And(), IsAnd: false);
        return e;
    }

    Expr And()
    {
        var e = Not();
        while (Accept("and")) e = new Logical(e, Not(), IsAnd: true);
        return e;
    }

    Expr Not() => Accept("not") ? new Negation(Not()) : Compare();

    static readonly HashSet<string> Comparisons = ["==", "!=", "<", ">", "<=", ">="];

    Expr Compare()
    {
        var e = Add();
        while (true)
        {
            if (Peek is { } op && Comparisons.Contains(op)) { _i++; e = new Binary(op, e, Add()); }
            else if (Accept("in")) e = new Binary("in", e, Add());
            else if (Peek == "not" && _i + 1 < _tokens.Count && _tokens[_i + 1] == "in") { _i += 2; e = new Negation(new Binary("in", e, Add())); }
            else return e;
        }
    }

    Expr Add()
    {
        var e = Concat();
        while (Peek is "+" or "-") { string op = Next(); e = new Binary(op, e, Concat()); }
        return e;
    }

    Expr Concat()
    {
        var e = Multiply();
        while (Accept("~")) e = new Binary("~", e, Multiply());
        return e;
    }

    Expr Multiply()
    {
        var e = Unary();
        while (Peek is "*" or "/" or "//" or "%") { string op = Next(); e = new Binary(op, e, Unary()); }
        return e;
    }

    Expr Unary()
    {
        if (Accept("-")) return new Binary("-", new Literal(0L), Unary());
        if (Accept("+")) return Unary();
        return Postfix(Primary());
    }

    Expr Primary()
    {
        string t = Next();
        if (t[0] is '\'' or '"') return new Literal(t[1..]);
        if (char.IsAsciiDigit(t[0]))
            return t.Contains('.') ? new Literal(double.Parse(t, CultureInfo.InvariantCulture)) : new Literal(long.Parse(t, CultureInfo.InvariantCulture));
        switch (t)
        {
            case "true" or "True": return new Literal(true);
            case "false" or "False": return new Literal(false);
            case "none" or "None": return new Literal(null);
            case "(":
            {
                var e = Expression();
                if (Accept(","))
                {
                    var items = new List<Expr> { e };
                    while (Peek != ")") { items.Add(Expression()); if (!Accept(",")) break; }
                    e = new ListExpr(items);
                }
                Expect(")");
                return e;
            }
            case "[":
            {
                var items = new List<Expr>();
                while (Peek != "]") { items.Add(Expression()); if (!Accept(",")) break; }
                Expect("]");
                return new ListExpr(items);
            }
            case "{":
            {
                var entries = new List<(Expr, Expr)>();
                while (Peek != "}") { var k = Expression(); Expect(":"); entries.Add((k, Expression())); if (!Accept(",")) break; }
                Expect("}");
                return new DictExpr(entries);
            }
        }
        if (!IsName(t)) throw Error($"unexpected '{t}'");
        return new Variable(t);
    }

    Expr Postfix(Expr e)
    {
        while (true)
        {
            if (Accept(".")) e = new Attribute(e, Name());
            else if (Accept("[")) e = Subscript(e);
            else if (Peek == "(") e = new Call(e, Arguments());
            else if (Accept("|")) { string f = Name(); e = new Filter(f, e, Peek == "(" ? Arguments() : []); }
            else if (Accept("is"))
            {
                bool negate = Accept("not");
                string test = Name();
                var args = Peek == "(" ? Arguments() : !AtEnd && StartsOperand(Peek!) ? [new Arg(null, Unary())] : new List<Arg>();
                e = new Test(test, e, args, negate);
            }
            else return e;
        }
    }

    static bool StartsOperand(string t) => t[0] is '\'' or '"' || char.IsAsciiDigit(t[0]) ||
        (IsName(t) && t is not ("and" or "or" or "not" or "in" or "is" or "if" or "else"));

    Expr Subscript(Expr target)
    {
        Expr? start = Peek is ":" ? null : Expression();
        if (!Accept(":")) { Expect("]"); return new Index(target, start!); }
        Expr? stop = Peek is "]" or ":" ? null : Expression();
        Expr? step = Accept(":") && Peek != "]" ? Expression() : null;
        Expect("]");
        return new Slice(target, start, stop, step);
    }

    List<Arg> Arguments()
    {
        Expect("(");
        var args = new List<Arg>();
        while (Peek != ")")
        {
            string? name = _i + 1 < _tokens.Count && IsName(Peek!) && _tokens[_i + 1] == "=" ? Next() : null;
            if (name is not null) Expect("=");
            args.Add(new Arg(name, Expression()));
            if (!Accept(",")) break;
        }
        Expect(")");
        return args;
    }

    static bool IsName(string t) => (char.IsAsciiLetter(t[0]) || t[0] == '_') && t.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    static readonly string[] Operators = ["==", "!=", "<=", ">=", "//", "**", "<", ">", "+", "-", "*", "/", "%", "~", "|", ".", ",", ":", "(", ")", "[", "]", "{", "}", "="];

    /// <summary>Names, numbers, operators, and string literals kept as their quote character followed by the decoded text.</summary>
    static List<string> Tokenize(string s)
    {
        var tokens = new List<string>();
        int i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c is '\'' or '"')
            {
                var text = new StringBuilder().Append(c);
                int j = i + 1;
                for (; j < s.Length && s[j] != c; j++)
                {
                    if (s[j] != '\\' || j + 1 >= s.Length) { text.Append(s[j]); continue; }
                    j++;
                    text.Append(s[j] switch { 'n' => '\n', 't' => '\t', 'r' => '\r', '0' => '\0', _ => s[j] });
                }
                if (j >= s.Length) throw new TemplateException($"unterminated string in '{s}'");
                tokens.Add(text.ToString());
                i = j + 1;
                continue;
            }
            if (char.IsAsciiDigit(c))
            {
                int j = i;
                while (j < s.Length && (char.IsAsciiDigit(s[j]) || (s[j] == '.' && j + 1 < s.Length && char.IsAsciiDigit(s[j + 1])))) j++;
                tokens.Add(s[i..j]);
                i = j;
                continue;
            }
            if (char.IsAsciiLetter(c) || c == '_')
            {
                int j = i;
                while (j < s.Length && (char.IsAsciiLetterOrDigit(s[j]) || s[j] == '_')) j++;
                tokens.Add(s[i..j]);
                i = j;
                continue;
            }
            string? op = Operators.FirstOrDefault(o => string.CompareOrdinal(s, i, o, 0, o.Length) == 0);
            if (op is null) throw new TemplateException($"unexpected character '{c}' in '{s}'");
            tokens.Add(op);
            i += op.Length;
        }
        return tokens;
    }
}
