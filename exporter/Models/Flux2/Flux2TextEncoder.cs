using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Models.Shared.Mistral;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Flux2;

/// <summary>
/// Flux2Pipeline's text encoder (_get_mistral_3_small_prompt_embeds): the language model of
/// Mistral3ForConditionalGeneration run over the chat-formatted prompt, and the hidden states of the chosen layers
/// (10, 20, 30 by default) stacked on the feature axis: prompt_embeds [batch, seq, layers·hidden]. The vision tower,
/// the multimodal projector and the LM head are not part of it.
/// Graph inputs: input_ids int64 [batch, seq], attention_mask int64 [batch, seq] (1 = token, 0 = padding).
/// </summary>
public static class Flux2TextEncoder
{
    public static readonly int[] DefaultHiddenStatesLayers = [10, 20, 30];

    public static Tensor Forward(MistralTextModel model, Tensor inputIds, Tensor attentionMask, int[] layers)
    {
        var states = model.HiddenStates(inputIds, attentionMask);
        return Tensor.Concat(-1, layers.Select(i => states[i]).ToArray());
    }

    public static Graph.Graph Trace(string componentDir, ITensorSource weights, int[]? hiddenStatesLayers = null)
    {
        int[] layers = hiddenStatesLayers ?? DefaultHiddenStatesLayers;
        string configPath = Path.Combine(componentDir, "config.json");
        var file = ComponentConfig.FromFile(configPath);
        var config = file.ToRecord<Mistral3ConfigFile>().TextConfig ?? file.ToRecord<MistralTextConfig>();
        if (layers.Length == 0) throw new ArgumentException("no hidden-state layers were asked for", nameof(hiddenStatesLayers));
        var tracer = new Tracer("flux2_text_encoder");
        var root = new Weights(tracer, weights, componentDir);
        // transformers ≥ 4.52 saves the language model under "model.language_model."; earlier ones under "language_model.model."
        string prefix = root.Has("model.language_model.embed_tokens.weight") ? "model.language_model."
            : root.Has("language_model.model.embed_tokens.weight") ? "language_model.model."
            : throw new CheckpointException(componentDir, "no Mistral language model weights (model.language_model.embed_tokens.weight or language_model.model.embed_tokens.weight)");
        var model = new MistralTextModel(root.Sub(prefix.TrimEnd('.')), config, configPath, layers.Max());
        if (layers.Min() < 0) throw new CheckpointException(configPath, $"hidden state layer {layers.Min()} is negative");
        root.CheckAllUsed(["vision_tower.", "multi_modal_projector.", "lm_head.", .. model.UnbuiltLayerPrefixes(prefix)]);
        var ids = tracer.Input("input_ids", TensorDType.I64, "batch", "seq");
        var mask = tracer.Input("attention_mask", TensorDType.I64, "batch", "seq");
        tracer.Output(Forward(model, ids, mask, layers), "prompt_embeds", "batch", "seq", (layers.Length * config.HiddenSize).ToString());
        tracer.Graph.Metadata["visualgen.class"] = "Mistral3ForConditionalGeneration.language_model";
        tracer.Graph.Metadata["visualgen.hidden_states_layers"] = string.Join(",", layers);
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }
}
