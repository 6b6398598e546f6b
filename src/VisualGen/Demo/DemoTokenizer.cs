using System.Text.Json.Nodes;

namespace VisualGen.Demo;

/// <summary>The demo's tokenizer folder: a generated spiece.model (<see cref="DemoVocabulary"/>) and a T5Tokenizer tokenizer_config.json.</summary>
internal static class DemoTokenizer
{
    public const string ClassName = "T5Tokenizer";

    public static void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        var pieces = DemoVocabulary.Pieces;
        File.WriteAllBytes(Path.Combine(folder, "spiece.model"),
            SentencePieceModelWriter.Write(pieces, DemoVocabulary.UnkId, DemoVocabulary.EosId, DemoVocabulary.PadId));

        var added = new JsonObject();
        foreach (int id in new[] { DemoVocabulary.PadId, DemoVocabulary.EosId, DemoVocabulary.UnkId })
            added[id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new JsonObject
            {
                ["content"] = pieces[id].Text,
                ["lstrip"] = false,
                ["normalized"] = false,
                ["rstrip"] = false,
                ["single_word"] = false,
                ["special"] = true,
            };
        DemoJson.Write(Path.Combine(folder, "tokenizer_config.json"), new JsonObject
        {
            ["added_tokens_decoder"] = added,
            ["eos_token"] = pieces[DemoVocabulary.EosId].Text,
            ["extra_ids"] = 0,
            ["model_max_length"] = 512,
            ["pad_token"] = pieces[DemoVocabulary.PadId].Text,
            ["tokenizer_class"] = ClassName,
            ["unk_token"] = pieces[DemoVocabulary.UnkId].Text,
        });
    }
}
