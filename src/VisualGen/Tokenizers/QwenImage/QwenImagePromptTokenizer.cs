namespace VisualGen.Tokenizers.QwenImage;

/// <summary>
/// Qwen-Image's prompt tokenization (diffusers' QwenImagePipeline._get_qwen_prompt_embeds): the
/// pipeline's fixed chat template around the prompt, tokenized with max_length =
/// tokenizer_max_length (1024) + <see cref="DropTokenCount"/>, truncation=True and padding=True
/// (no padding for one prompt; the mask is all ones). The text encoder's states for the first
/// <see cref="DropTokenCount"/> tokens (the system turn) are dropped by the pipeline, not here.
/// </summary>
/// <remarks>
/// max_sequence_length does not change the tokenization: the pipeline cuts the embeddings after encoding.
/// </remarks>
public sealed class QwenImagePromptTokenizer : IPromptTokenizer
{
    /// <summary>The template before the prompt (<c>prompt_template_encode</c> up to its "{}").</summary>
    public const string TemplatePrefix =
        "<|im_start|>system\nDescribe the image by detailing the color, shape, size, texture, quantity, text, spatial relationships of the objects and background:<|im_end|>\n<|im_start|>user\n";

    /// <summary>The template after the prompt.</summary>
    public const string TemplateSuffix = "<|im_end|>\n<|im_start|>assistant\n";

    /// <summary><c>prompt_template_encode_start_idx</c>: leading template tokens whose hidden states the pipeline drops.</summary>
    public const int DropTokenCount = 34;

    /// <summary>The pipeline's <c>tokenizer_max_length</c>.</summary>
    public const int TokenizerMaxLength = 1024;

    /// <summary>The truncation length of the templated text.</summary>
    public const int MaxLength = TokenizerMaxLength + DropTokenCount;

    public Qwen2BpeTokenizer Tokenizer { get; }

    public QwenImagePromptTokenizer(Qwen2BpeTokenizer tokenizer) { Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer)); }

    /// <summary>Loads the checkpoint's <c>tokenizer/</c> folder (vocab.json, merges.txt, tokenizer_config.json).</summary>
    public static QwenImagePromptTokenizer Load(string tokenizerFolder) => new(Qwen2BpeTokenizer.Load(tokenizerFolder));

    /// <summary><c>prompt_template_encode.format(prompt)</c>.</summary>
    public static string ApplyTemplate(string? prompt) => TemplatePrefix + (prompt ?? "") + TemplateSuffix;

    public TokenizedText Tokenize(string? prompt) =>
        TokenSequence.Build(Tokenizer.EncodeToIds(ApplyTemplate(prompt)), bos: null, eos: null, MaxLength, Tokenizer.PadId, padToMaxLength: false);
}
