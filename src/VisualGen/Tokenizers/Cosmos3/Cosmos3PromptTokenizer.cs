using VisualGen.Checkpoints;
using VisualGen.Tokenizers.Templates;

namespace VisualGen.Tokenizers.Cosmos3;

/// <summary>
/// Cosmos3OmniPipeline.tokenize_prompt: the templated prompt (and negative prompt) as the user turn after the system
/// prompt, rendered by the checkpoint's chat template with the generation prompt (and add_vision_id false, as the
/// pipeline passes it), tokenized by the Qwen2 BPE of text_tokenizer/, then the EOS token and &lt;|vision_start|&gt;
/// appended. No truncation or padding.
/// </summary>
public sealed class Cosmos3PromptTokenizer
{
    static readonly Dictionary<string, object?> TemplateVariables = new() { ["add_vision_id"] = false };

    readonly Qwen2BpeTokenizer _bpe;
    readonly ChatTemplate _chat;
    readonly bool _useSystemPrompt;

    public int EosId { get; }
    public int VisionStartId { get; }

    public Cosmos3PromptTokenizer(Qwen2BpeTokenizer bpe, ChatTemplate chat, int eosId, bool useSystemPrompt)
    {
        _bpe = bpe; _chat = chat; EosId = eosId; _useSystemPrompt = useSystemPrompt;
        VisionStartId = bpe.AddedTokenId("<|vision_start|>");
    }

    /// <summary>Loads text_tokenizer/: tokenizer.json (or vocab.json + merges.txt), tokenizer_config.json's added and EOS
    /// tokens, and the chat template.</summary>
    public static Cosmos3PromptTokenizer Load(string folder, bool useSystemPrompt)
    {
        var bpe = Qwen2BpeTokenizer.Load(folder);
        string configPath = TokenizerFiles.Require(folder, "tokenizer_config.json");
        using var config = TokenizerFiles.ReadConfig(folder);
        string eos = TokenizerFiles.TokenString(config.RootElement, "eos_token")
            ?? throw new CheckpointException(configPath, "no 'eos_token' (Cosmos3 ends each prompt with it)");
        if (!bpe.AddedTokens.TryGetValue(eos, out int eosId))
            throw new CheckpointException(configPath, $"eos_token '{eos}' is not an added token");
        if (!bpe.AddedTokens.ContainsKey("<|vision_start|>"))
            throw new CheckpointException(configPath, "no added token '<|vision_start|>' (Cosmos3 starts generation with it)");
        var chat = ChatTemplate.Load(folder)
            ?? throw new CheckpointException(folder, "no chat template (chat_template.jinja or 'chat_template' in tokenizer_config.json); Cosmos3 renders its prompts with it");
        return new Cosmos3PromptTokenizer(bpe, chat, eosId, useSystemPrompt);
    }

    /// <summary>(prompt ids, negative prompt ids); a null negative prompt is the empty string, as in diffusers.</summary>
    public (IReadOnlyList<int> Prompt, IReadOnlyList<int> Negative) Tokenize(string prompt, string? negativePrompt, int numFrames, int height, int width, double fps) =>
        (Ids(Cosmos3PromptTemplates.Apply(prompt, false, numFrames, height, width, fps), numFrames),
         Ids(Cosmos3PromptTemplates.Apply(negativePrompt ?? "", true, numFrames, height, width, fps), numFrames));

    /// <summary>The text the chat template renders for one templated prompt.</summary>
    public string Render(string templatedText, int numFrames)
    {
        var messages = new List<ChatMessage>();
        if (_useSystemPrompt) messages.Add(ChatMessage.Text("system", Cosmos3PromptTemplates.SystemPrompt(numFrames)));
        messages.Add(ChatMessage.Text("user", templatedText));
        return _chat.Render(messages, addGenerationPrompt: true, TemplateVariables);
    }

    IReadOnlyList<int> Ids(string templatedText, int numFrames) =>
        [.. _bpe.EncodeToIds(Render(templatedText, numFrames)), EosId, VisionStartId];
}
