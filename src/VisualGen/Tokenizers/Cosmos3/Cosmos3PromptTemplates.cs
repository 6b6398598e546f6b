using VisualGen.Tokenizers.Text;

namespace VisualGen.Tokenizers.Cosmos3;

/// <summary>
/// Cosmos3OmniPipeline's prompt augmentation (tokenize_prompt): the duration sentence (videos only) and the resolution
/// sentence appended to the prompt, their inverse ("is not …") sentences to the negative prompt, each joined as
/// "base. addition" after trailing periods are stripped; and the system prompt for images or videos.
/// </summary>
public static class Cosmos3PromptTemplates
{
    public const string SystemPromptImage = "You are a helpful assistant who will generate images from a give prompt.";
    public const string SystemPromptVideo = "You are a helpful assistant who will generate videos from a give prompt.";

    public static string SystemPrompt(int numFrames) => numFrames == 1 ? SystemPromptImage : SystemPromptVideo;

    /// <summary>The prompt (or, with <paramref name="negative"/>, the negative prompt) with its templates appended.</summary>
    public static string Apply(string text, bool negative, int numFrames, int height, int width, double fps)
    {
        bool image = numFrames == 1;
        if (!image)
        {
            string duration = PythonFormat.Fixed(numFrames / fps, 1), rate = PythonFormat.Fixed(fps, 0);
            text = Append(text, negative
                ? $"The video is not {duration} seconds long and is not of {rate} FPS."
                : $"The video is {duration} seconds long and is of {rate} FPS.");
        }
        string kind = image ? "image" : "video";
        text = Append(text, negative ? $"This {kind} is not of {height}x{width} resolution." : $"This {kind} is of {height}x{width} resolution.");
        return text;
    }

    /// <summary>_append: base.rstrip(".") + ". " + addition, or the addition alone when nothing is left of the base.</summary>
    static string Append(string text, string addition)
    {
        var stripped = text.TrimEnd('.');
        return stripped.Length > 0 ? $"{stripped}. {addition}" : addition;
    }
}
