using VisualGen.Exporter.Quantization;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.QwenImage;

/// <summary>
/// QwenImageTransformer2DModel (diffusers' transformer_qwenimage.py), read top to bottom in the same order: img_in,
/// txt_norm + txt_in, timestep embedding, RoPE over the image grid and the text, dual-stream blocks, norm_out,
/// proj_out. Packing and unpacking of 2×2 latent patches stay in the pipeline, as in diffusers.
/// Graph inputs: hidden_states [batch, image_tokens, in_channels] (packed latents), timestep [batch] (t/1000),
/// encoder_hidden_states [batch, text_len, joint_attention_dim], img_shapes int64 [3] (frames, height, width of the
/// patch grid; frames·height·width = image_tokens; one shape for the whole batch, as diffusers' QwenEmbedRope uses).
/// No text mask: QwenImagePipeline passes none for a single prompt (an all-ones mask becomes None in encode_prompt).
/// Output: sample [batch, image_tokens, patch_size²·out_channels].
/// </summary>
public sealed partial class QwenImageTransformer2DModel
{
    readonly QwenImageTransformerConfig _c;
    readonly QwenEmbedRope _posEmbed;
    readonly QwenTimestepProjEmbeddings _timeTextEmbed;
    readonly RmsNorm _txtNorm;
    readonly Linear _imgIn, _txtIn, _projOut;
    readonly QwenImageTransformerBlock[] _blocks;
    readonly AdaLayerNormContinuous _normOut;

    public QwenImageTransformer2DModel(Weights w, QwenImageTransformerConfig c)
    {
        _c = c;
        int dim = c.InnerDim;
        _posEmbed = new QwenEmbedRope(c.AxesDimsRope);
        _timeTextEmbed = new QwenTimestepProjEmbeddings(w.Sub("time_text_embed"), dim);
        _txtNorm = new RmsNorm(w.Sub("txt_norm"), c.JointAttentionDim, 1e-6f);
        _imgIn = new Linear(w.Sub("img_in"), c.InChannels, dim);
        _txtIn = new Linear(w.Sub("txt_in"), c.JointAttentionDim, dim);
        _blocks = Enumerable.Range(0, c.NumLayers)
            .Select(i => new QwenImageTransformerBlock(w.Sub($"transformer_blocks.{i}"), dim, c.NumAttentionHeads, c.AttentionHeadDim)).ToArray();
        _normOut = new AdaLayerNormContinuous(w.Sub("norm_out"), dim, dim, elementwiseAffine: false, eps: 1e-6f);
        _projOut = new Linear(w.Sub("proj_out"), dim, c.PatchSize * c.PatchSize * c.OutChannelsOrIn);
    }

    public Tensor Forward(Tensor hiddenStates, Tensor timestep, Tensor encoderHiddenStates, Tensor imgShapes)
    {
        var t = hiddenStates.Tracer;
        var image = _imgIn.Forward(hiddenStates);
        var text = _txtIn.Forward(_txtNorm.Forward(encoderHiddenStates));
        Tensor temb;
        using (t.Scope("time_text_embed")) temb = _timeTextEmbed.Forward(timestep);
        var (imageRope, textRope) = _posEmbed.Forward(imgShapes, text.Size(1));

        for (int i = 0; i < _blocks.Length; i++)
            using (t.Scope($"transformer_blocks.{i}"))
                (text, image) = _blocks[i].Forward(image, text, temb, imageRope, textRope);

        return _projOut.Forward(_normOut.Forward(image, temb));
    }

    /// <summary>The on-demand part <c>time_embedding</c> for TeaCache: timestep (t/1000) → temb.</summary>
    public static Graph.Graph TraceTimeEmbedding(string componentDir, ITensorSource weights)
    {
        string configPath = Path.Combine(componentDir, "config.json");
        var config = ComponentConfig.FromFile(configPath).ToRecord<QwenImageTransformerConfig>();
        config.Validate(configPath);
        var tracer = new Tracer("qwenimage_transformer_time_embedding");
        var w = new Weights(tracer, weights, componentDir);
        var embed = new QwenTimestepProjEmbeddings(w.Sub("time_text_embed"), config.InnerDim);
        var ts = tracer.Input("timestep", TensorDType.F32, "batch");
        Tensor temb;
        using (tracer.Scope("time_text_embed")) temb = embed.Forward(ts);
        tracer.Output(temb, "temb", "batch", config.InnerDim.ToString());
        tracer.Graph.Metadata["visualgen.class"] = "QwenImageTransformer2DModel";
        tracer.Graph.Metadata["visualgen.part"] = "time_embedding";
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }

    /// <summary>Traces the transformer of a checkpoint component folder into a graph.</summary>
    public static Graph.Graph Trace(string componentDir, ITensorSource weights, QuantizedLinears? quantization = null)
    {
        string configPath = Path.Combine(componentDir, "config.json");
        var config = ComponentConfig.FromFile(configPath).ToRecord<QwenImageTransformerConfig>();
        config.Validate(configPath);
        var tracer = new Tracer("qwenimage_transformer");
        var w = new Weights(tracer, weights, componentDir, quantization);
        var model = new QwenImageTransformer2DModel(w, config);
        w.CheckAllUsed();
        var hs = tracer.Input("hidden_states", TensorDType.F32, "batch", "image_tokens", config.InChannels.ToString());
        var ts = tracer.Input("timestep", TensorDType.F32, "batch");
        var ctx = tracer.Input("encoder_hidden_states", TensorDType.F32, "batch", "text_len", config.JointAttentionDim.ToString());
        var shapes = tracer.Input("img_shapes", TensorDType.I64, "3");
        var outT = model.Forward(hs, ts, ctx, shapes);
        tracer.Output(outT, "sample", "batch", "image_tokens", (config.PatchSize * config.PatchSize * config.OutChannelsOrIn).ToString());
        tracer.Graph.Metadata["visualgen.class"] = "QwenImageTransformer2DModel";
        tracer.Graph.Metadata[GraphMetadata.PlanTimeInputs] = "img_shapes";
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }
}
