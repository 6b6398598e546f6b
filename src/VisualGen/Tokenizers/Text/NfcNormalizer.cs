using System.Text;
using Microsoft.ML.Tokenizers;

namespace VisualGen.Tokenizers.Text;

/// <summary>Unicode NFC, the normalizer of Qwen2's tokenizer.json (Microsoft.ML.Tokenizers has none built in).</summary>
internal sealed class NfcNormalizer : Normalizer
{
    public override string Normalize(string original) => original.Normalize(NormalizationForm.FormC);

    public override string Normalize(ReadOnlySpan<char> original) => original.ToString().Normalize(NormalizationForm.FormC);
}
