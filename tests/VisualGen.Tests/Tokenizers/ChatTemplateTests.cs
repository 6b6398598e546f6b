using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Tests.Support;
using VisualGen.Tokenizers.Templates;

namespace VisualGen.Tests.Tokenizers;

public sealed class ChatTemplateTests
{
    /// <summary>Templates and variables with the text Python's jinja2 rendered for them in Hugging Face's chat-template
    /// environment (tools/conformance/chat_template_cases.py): the two fixture templates, a tool-calling template in
    /// Qwen's style, and one case each for whitespace control and for expressions, filters, tests and loops.</summary>
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Load().EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    static JsonElement Load() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Tokenizers", "Data", "chat_template_cases.json"))).RootElement;

    static object? Value(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out long l) && !e.GetRawText().Contains('.') ? (object?)l : e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null => null,
        JsonValueKind.Array => e.EnumerateArray().Select(Value).ToList(),
        _ => e.EnumerateObject().ToDictionary(p => p.Name, p => Value(p.Value)),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Renders_as_jinja2_does(string name)
    {
        var c = Load().EnumerateArray().Single(x => x.GetProperty("name").GetString() == name);
        var vars = (Dictionary<string, object?>)Value(c.GetProperty("vars"))!;
        var messages = vars.TryGetValue("messages", out var m0) ? ((List<object?>)m0!).Cast<Dictionary<string, object?>>().ToList() : [];
        bool generation = vars.TryGetValue("add_generation_prompt", out var g) && g is true;
        var rest = vars.Where(kv => kv.Key is not ("messages" or "add_generation_prompt")).ToDictionary(kv => kv.Key, kv => kv.Value);
        // extra keys of a message (tool_calls) go in through the variables: ChatMessage carries role and content only
        var template = ChatTemplate.Parse(c.GetProperty("template").GetString()!, name);
        string text = messages.Any(m => m.Count > 2)
            ? template.Render([], generation, new Dictionary<string, object?>(rest) { ["messages"] = messages })
            : template.Render(messages.Select(m => new ChatMessage((string)m["role"]!, m["content"]!)), generation, rest);
        Assert.Equal(c.GetProperty("expected").GetString(), text);
    }

    [ConformanceFact]
    public void Fixture_templates_load_from_the_checkpoints_with_their_special_tokens()
    {
        var flux2 = ChatTemplate.Load(Path.Combine(Fixtures.Checkpoint("flux2"), "tokenizer"))!;
        Assert.Equal("<s>[SYSTEM_PROMPT]sys[/SYSTEM_PROMPT][INST]a fox[/INST]",
            flux2.Render([ChatMessage.TextParts("system", "sys"), ChatMessage.TextParts("user", "a fox")]));
        var cosmos = ChatTemplate.Load(Path.Combine(Fixtures.Checkpoint("cosmos3_t2i"), "text_tokenizer"))!;
        Assert.Equal("<|im_start|>user\nhi<|im_end|><|im_start|>assistant", cosmos.Render([ChatMessage.Text("user", "hi")], addGenerationPrompt: true));
        Assert.Null(ChatTemplate.Load(Path.Combine(Fixtures.Checkpoint("qwenimage"), "tokenizer")));
    }

    [Fact]
    public void Template_in_tokenizer_config_is_used_when_there_is_no_jinja_file()
    {
        string dir = Fixtures.TempDir("chat-template");
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"),
            """{"bos_token": {"content": "<bos>"}, "chat_template": [{"name": "tool_use", "template": "x"}, {"name": "default", "template": "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"}]}""");
        Assert.Equal("<bos><user>hi", ChatTemplate.Load(dir)!.Render([ChatMessage.Text("user", "hi")]));
    }

    [Theory]
    [InlineData("{% macro f() %}x{% endmacro %}", "'{% macro %}'")]
    [InlineData("{% if x %}open", "before '{% endif %}'")]
    [InlineData("{% endfor %}", "unexpected '{% endfor %}'")]
    [InlineData("{{ x | shout }}", "the filter 'shout'")]
    [InlineData("{{ 'a' + }}", "unexpected end")]
    [InlineData("{{ x", "never closed")]
    public void Unsupported_or_broken_templates_are_refused_naming_the_construct(string source, string says)
    {
        var e = Record.Exception(() => ChatTemplate.Parse(source, "tpl.jinja").Render([ChatMessage.Text("user", "hi")], variables: new Dictionary<string, object?> { ["x"] = "v" }));
        var ce = Assert.IsType<CheckpointException>(e);
        Assert.Contains("tpl.jinja", ce.Message);
        Assert.Contains(says, ce.Message);
    }

    [Fact]
    public void Raise_exception_and_undefined_attributes_are_errors_naming_the_reason()
    {
        var refusing = ChatTemplate.Parse("{% if messages[0].role != 'user' %}{{ raise_exception('first message must be the user') }}{% endif %}", "t");
        Assert.Contains("first message must be the user", Assert.IsType<CheckpointException>(Record.Exception(() => refusing.Render([ChatMessage.Text("system", "s")]))).Message);
        var undefined = ChatTemplate.Parse("{{ tools.name }}", "t");
        Assert.Contains("'tools' is undefined", Assert.IsType<CheckpointException>(Record.Exception(() => undefined.Render([]))).Message);
        Assert.Equal("", ChatTemplate.Parse("{{ tools }}", "t").Render([])); // printing an undefined value prints nothing, as in Jinja
    }
}
