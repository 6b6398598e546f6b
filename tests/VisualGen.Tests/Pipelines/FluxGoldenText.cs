using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>The flux1 fixture's prompt through the checkpoint's text encoders, from the golden token ids (which the
/// pipeline's tokenizers reproduce exactly): CLIP's pooled output and T5's last hidden state, as FluxPipeline feeds them.</summary>
public static class FluxGoldenText
{
    public static (HostTensor Pooled, HostTensor PromptEmbeds) Encode(IEngineProvider provider, string checkpoint, SafeTensorsFile golden)
    {
        var pooled = provider.GetEngine(checkpoint, "text_encoder", null).Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = Fixtures.GoldenTensor(golden, "tokenizer.prompt.input_ids"),
        })["pooler_output"];
        var t5Ids = Fixtures.GoldenTensor(golden, "tokenizer_2.prompt.input_ids");
        var promptEmbeds = provider.GetEngine(checkpoint, "text_encoder_2", null).Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = t5Ids,
            ["attention_mask"] = HostTensor.Int64(Enumerable.Repeat(1L, (int)t5Ids.Shape[1]).ToArray(), 1, t5Ids.Shape[1]),
        })["last_hidden_state"];
        return (pooled, promptEmbeds);
    }
}
