using System.Text;
using System.Text.Json;
using VisualGen.Checkpoints;

namespace VisualGen.Tokenizers.Templates;

/// <summary>
/// A checkpoint's chat template (<c>chat_template.jinja</c>, else <c>chat_template</c> in tokenizer_config.json),
/// rendered as Hugging Face's <c>apply_chat_template(…, tokenize=False)</c> renders it: Jinja with trim_blocks and
/// lstrip_blocks, <c>messages</c>, <c>add_generation_prompt</c>, the tokenizer's special tokens (<c>bos_token</c>, …)
/// and <c>raise_exception</c>. The renderer covers the Jinja that chat templates use (see <see cref="TemplateParser"/>);
/// a template that goes beyond it is refused when loaded, naming the construct, never rendered differently.
/// </summary>
public sealed class ChatTemplate
{
    static readonly string[] SpecialTokens = ["bos_token", "eos_token", "pad_token", "unk_token"];

    readonly List<Node> _nodes;
    readonly Dictionary<string, object?> _tokens;

    /// <summary>Where the template came from (for errors).</summary>
    public string Origin { get; }

    ChatTemplate(List<Node> nodes, Dictionary<string, object?> tokens, string origin)
    {
        _nodes = nodes;
        _tokens = tokens;
        Origin = origin;
    }

    /// <summary>Parses <paramref name="source"/>; <paramref name="specialTokens"/> (bos_token, …) are visible to it.</summary>
    public static ChatTemplate Parse(string source, string origin, IReadOnlyDictionary<string, string>? specialTokens = null)
    {
        try
        {
            var tokens = (specialTokens ?? new Dictionary<string, string>()).ToDictionary(kv => kv.Key, kv => (object?)kv.Value);
            return new ChatTemplate(TemplateParser.Parse(source), tokens, origin);
        }
        catch (TemplateException e)
        {
            throw new CheckpointException(origin, $"chat template: {e.Message}", e);
        }
    }

    /// <summary>The template of a tokenizer folder, or null when it has none.</summary>
    public static ChatTemplate? Load(string tokenizerFolder)
    {
        using var config = File.Exists(Path.Combine(tokenizerFolder, "tokenizer_config.json")) ? TokenizerFiles.ReadConfig(tokenizerFolder) : null;
        var tokens = new Dictionary<string, string>();
        if (config is not null)
            foreach (var name in SpecialTokens)
                if (TokenizerFiles.TokenString(config.RootElement, name) is { } t) tokens[name] = t;

        string jinja = Path.Combine(tokenizerFolder, "chat_template.jinja");
        if (File.Exists(jinja)) return Parse(File.ReadAllText(jinja), jinja, tokens);
        if (config is null || !config.RootElement.TryGetProperty("chat_template", out var t2)) return null;
        string origin = Path.Combine(tokenizerFolder, "tokenizer_config.json");
        return t2.ValueKind switch
        {
            JsonValueKind.String => Parse(t2.GetString()!, origin, tokens),
            // a list of named templates: the one named "default" is what apply_chat_template uses
            JsonValueKind.Array => t2.EnumerateArray().FirstOrDefault(e => e.TryGetProperty("name", out var n) && n.GetString() == "default") is
                { ValueKind: JsonValueKind.Object } d && d.TryGetProperty("template", out var body) && body.ValueKind == JsonValueKind.String
                ? Parse(body.GetString()!, origin, tokens)
                : throw new CheckpointException(origin, "'chat_template' is a list without a template named 'default'"),
            _ => throw new CheckpointException(origin, "'chat_template' must be a string or a list of named templates"),
        };
    }

    /// <summary>The text of <paramref name="messages"/> as the template lays them out.</summary>
    public string Render(IEnumerable<ChatMessage> messages, bool addGenerationPrompt = false, IReadOnlyDictionary<string, object?>? variables = null)
    {
        var globals = new Dictionary<string, object?>(_tokens)
        {
            ["messages"] = messages.Select(m => (object?)m.ToValue()).ToList(),
            ["add_generation_prompt"] = addGenerationPrompt,
        };
        if (variables is not null)
            foreach (var (k, v) in variables) globals[k] = TemplateValue(v);
        var output = new StringBuilder();
        try
        {
            Node.RenderAll(_nodes, output, new TemplateScope(globals));
        }
        catch (TemplateException e)
        {
            throw new CheckpointException(Origin, $"chat template: {e.Message}", e);
        }
        return output.ToString();
    }

    /// <summary>A caller's value as a template value (numbers widened, sequences and string-keyed maps copied).</summary>
    internal static object? TemplateValue(object? v) => v switch
    {
        null or string or bool or long or double => v,
        int i => (long)i,
        float f => (double)f,
        IDictionary<string, object?> d => d.ToDictionary(kv => kv.Key, kv => TemplateValue(kv.Value)),
        System.Collections.IEnumerable e => e.Cast<object?>().Select(TemplateValue).ToList(),
        _ => throw new ArgumentException($"a {v.GetType().Name} cannot be given to a chat template"),
    };
}

/// <summary>A chat message: a role and its content, either text or parts (<c>[{type: text, text: …}]</c>), as
/// diffusers' pipelines build them for their text encoders.</summary>
public sealed record ChatMessage(string Role, object Content)
{
    public static ChatMessage Text(string role, string text) => new(role, text);

    /// <summary>Content as a list of text parts, the form FLUX.2's messages take.</summary>
    public static ChatMessage TextParts(string role, params string[] texts) =>
        new(role, texts.Select(t => (object?)new Dictionary<string, object?> { ["type"] = "text", ["text"] = t }).ToList());

    internal Dictionary<string, object?> ToValue() => new() { ["role"] = Role, ["content"] = ChatTemplate.TemplateValue(Content) };
}
