using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Clip;

/// <summary>
/// CLIPVisionModel's hidden states (transformers' modeling_clip.py): patch embedding (convolution without bias, stride
/// = patch size), the class token in front, position embeddings, pre_layrnorm, encoder layers. The graph returns
/// hidden_states[<c>hiddenStateIndex</c>] as the reference numbers them (0 = after pre_layrnorm, i = after layer i,
/// negative from the end); WanImageToVideoPipeline uses hidden_states[-2], the input of the last layer, so the
/// layers after the chosen state and post_layernorm (only on the pooled output) are not in the graph.
/// Graph input: pixel_values float32 [batch, num_channels, image_size, image_size] (CLIPImageProcessor's output).
/// Output: hidden_state float32 [batch, num_patches + 1, hidden].
/// </summary>
public sealed class ClipVisionModel
{
    readonly ClipVisionConfig _c;
    readonly Tensor _patchWeight, _classEmbedding, _positionEmbedding;
    readonly LayerNorm _preLayrnorm;
    readonly ClipEncoderLayer[] _layers;

    /// <param name="layers">how many encoder layers to run (the chosen hidden state's index).</param>
    public ClipVisionModel(Weights w, ClipVisionConfig c, int layers, string origin)
    {
        _c = c;
        _patchWeight = w.Get("embeddings.patch_embedding.weight", [c.HiddenSize, c.NumChannels, c.PatchSize, c.PatchSize]);
        _classEmbedding = w.Get("embeddings.class_embedding", [c.HiddenSize]);
        _positionEmbedding = w.Get("embeddings.position_embedding.weight", [c.NumPositions, c.HiddenSize]);
        _preLayrnorm = new LayerNorm(w.Sub("pre_layrnorm"), c.HiddenSize, c.LayerNormEps, elementwiseAffine: true);
        var act = Activations.Get(c.HiddenAct, origin);
        _layers = Enumerable.Range(0, layers).Select(i => new ClipEncoderLayer(w.Sub($"encoder.layers.{i}"),
            c.HiddenSize, c.IntermediateSize, c.NumAttentionHeads, c.LayerNormEps, act)).ToArray();
    }

    public Tensor Forward(Tensor pixelValues)
    {
        var t = pixelValues.Tracer;
        var batch = pixelValues.Size(0);
        int p = _c.PatchSize;
        var patches = pixelValues.Conv(_patchWeight, null, [p, p], [0, 0, 0, 0]).Reshape(batch, _c.HiddenSize, -1).Transpose(0, 2, 1);
        var classEmbeds = _classEmbedding.Reshape(1, 1, _c.HiddenSize).Expand(batch, 1, _c.HiddenSize);
        var x = Tensor.Concat(1, classEmbeds, patches) + _positionEmbedding;
        x = _preLayrnorm.Forward(x);
        for (int i = 0; i < _layers.Length; i++)
            using (t.Scope($"encoder.layers.{i}"))
                x = _layers[i].Forward(x, null);
        return x;
    }

    /// <summary>Traces a CLIPVisionModel component folder (Wan I2V's image_encoder) into a graph returning
    /// hidden_states[<paramref name="hiddenStateIndex"/>] (default -2, as WanImageToVideoPipeline.encode_image).</summary>
    public static Graph.Graph Trace(string componentDir, ITensorSource weights, int hiddenStateIndex = -2)
    {
        string configPath = Path.Combine(componentDir, "config.json");
        var config = ComponentConfig.FromFile(configPath).ToRecord<ClipVisionConfig>();
        int states = config.NumHiddenLayers + 1;
        int index = hiddenStateIndex < 0 ? states + hiddenStateIndex : hiddenStateIndex;
        if (index < 0 || index >= states)
            throw new ArgumentOutOfRangeException(nameof(hiddenStateIndex), hiddenStateIndex,
                $"{configPath}: a {config.NumHiddenLayers}-layer CLIP vision model has hidden states 0..{config.NumHiddenLayers} (or -{states}..-1)");
        var tracer = new Tracer("clip_vision_model");
        var root = new Weights(tracer, weights, componentDir);
        // transformers 4.x saved CLIPVisionModel under "vision_model."; 5.x checkpoints have no prefix
        var w = root.Has("vision_model.embeddings.class_embedding") ? root.Sub("vision_model") : root;
        var model = new ClipVisionModel(w, config, index, configPath);
        // the layers after the chosen state and the pooled output's post_layernorm do not contribute to it
        string[] unusedHere = [.. Enumerable.Range(index, config.NumHiddenLayers - index).Select(i => $"encoder.layers.{i}."),
            "post_layernorm.", "embeddings.position_ids"];
        root.CheckAllUsed(unusedHere);
        var pixels = tracer.Input("pixel_values", TensorDType.F32, "batch", config.NumChannels.ToString(), config.ImageSize.ToString(), config.ImageSize.ToString());
        tracer.Output(model.Forward(pixels), "hidden_state", "batch", config.NumPositions.ToString(), config.HiddenSize.ToString());
        tracer.Graph.Metadata["visualgen.class"] = "CLIPVisionModel";
        tracer.Graph.Metadata["visualgen.hidden_state_index"] = hiddenStateIndex.ToString();
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }
}
