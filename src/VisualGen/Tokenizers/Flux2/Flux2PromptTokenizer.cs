using VisualGen.Checkpoints;
using VisualGen.Tokenizers.Templates;

namespace VisualGen.Tokenizers.Flux2;

/// <summary>
/// Flux2Pipeline's prompt tokenization (_get_mistral_3_small_prompt_embeds with format_input): "[IMG]" removed from
/// the prompt, the messages [system: the pipeline's system message, user: the prompt] (text parts) rendered by the
/// checkpoint's chat template, tokenized without added special tokens (the template writes BOS), truncated to
/// max_sequence_length and padded to it on the right with the pad token.
/// </summary>
public sealed class Flux2PromptTokenizer : IPromptTokenizer
{
    /// <summary>Flux2Pipeline.system_message (diffusers' SYSTEM_MESSAGE, from Black Forest Labs' flux2 repository).</summary>
    public const string SystemMessage =
        "You are an AI that reasons about image descriptions. You give structured responses focusing on object relationships, object\nattribution and actions without speculation.";

    /// <summary>The pipeline's default max_sequence_length (tokenizer_max_length).</summary>
    public const int DefaultMaxSequenceLength = 512;

    readonly ByteLevelBpeTokenizer _tokenizer;
    readonly ChatTemplate _template;
    readonly int _padId;

    public int MaxSequenceLength { get; }

    Flux2PromptTokenizer(ByteLevelBpeTokenizer tokenizer, ChatTemplate template, int padId, int maxSequenceLength)
    {
        if (maxSequenceLength < 1) throw new ArgumentOutOfRangeException(nameof(maxSequenceLength), maxSequenceLength, "max_sequence_length must be at least 1");
        _tokenizer = tokenizer; _template = template; _padId = padId; MaxSequenceLength = maxSequenceLength;
    }

    /// <summary>Loads the checkpoint's <c>tokenizer/</c> folder: tokenizer.json, tokenizer_config.json (pad token)
    /// and its chat template (chat_template.jinja or tokenizer_config.json's).</summary>
    public static Flux2PromptTokenizer Load(string tokenizerFolder, int maxSequenceLength = DefaultMaxSequenceLength)
    {
        var tokenizer = ByteLevelBpeTokenizer.Load(tokenizerFolder);
        var template = ChatTemplate.Load(tokenizerFolder)
            ?? throw new CheckpointException(tokenizerFolder, "no chat template (chat_template.jinja or 'chat_template' in tokenizer_config.json): Flux2Pipeline formats prompts with it");
        string configPath = Path.Combine(tokenizerFolder, "tokenizer_config.json");
        using var config = TokenizerFiles.ReadConfig(tokenizerFolder);
        string pad = TokenizerFiles.TokenString(config.RootElement, "pad_token")
            ?? throw new CheckpointException(configPath, "no 'pad_token' (Flux2Pipeline pads prompts to max_sequence_length)");
        int padId = tokenizer.AddedTokens.TryGetValue(pad, out int id) ? id
            : throw new CheckpointException(configPath, $"pad token '{pad}' is not an added token of tokenizer.json");
        return new Flux2PromptTokenizer(tokenizer, template, padId, maxSequenceLength);
    }

    public Flux2PromptTokenizer WithMaxSequenceLength(int maxSequenceLength) =>
        maxSequenceLength == MaxSequenceLength ? this : new(_tokenizer, _template, _padId, maxSequenceLength);

    /// <summary>The chat-formatted text of <paramref name="prompt"/> (apply_chat_template with tokenize=False).</summary>
    public string Format(string? prompt) => _template.Render(
        [ChatMessage.TextParts("system", SystemMessage), ChatMessage.TextParts("user", (prompt ?? "").Replace("[IMG]", ""))],
        addGenerationPrompt: false);

    public TokenizedText Tokenize(string? prompt) =>
        TokenSequence.Build(_tokenizer.EncodeToIds(Format(prompt)), bos: null, eos: null, MaxSequenceLength, _padId, padToMaxLength: true);
}
