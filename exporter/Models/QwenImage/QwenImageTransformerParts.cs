using VisualGen.Exporter.Quantization;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Models.Shared;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Caching;

namespace VisualGen.Exporter.Models.QwenImage;

/// <summary>
/// QwenImageTransformer2DModel in parts for Cache-DiT (<see cref="TransformerParts"/>): the same modules as
/// <see cref="Forward"/>, cut between blocks. The two streams travel as one token sequence, text first then image
/// ([batch, text_len + image_tokens, dim]); each part reads the text length from encoder_hidden_states.
/// </summary>
public sealed partial class QwenImageTransformer2DModel
{
    /// <summary>img_in and txt_norm + txt_in: the streams before the first block, text then image.</summary>
    public Tensor Embed(Tensor hiddenStates, Tensor encoderHiddenStates) =>
        Tensor.Concat(1, _txtIn.Forward(_txtNorm.Forward(encoderHiddenStates)), _imgIn.Forward(hiddenStates));

    /// <summary>Blocks <paramref name="from"/>..<paramref name="to"/>-1 on the joined streams.</summary>
    public Tensor Blocks(Tensor joined, int from, int to, Tensor timestep, Tensor encoderHiddenStates, Tensor imgShapes)
    {
        var t = joined.Tracer;
        var textLen = encoderHiddenStates.Size(1);
        Tensor text = joined.Slice(1, 0L, textLen), image = joined.Slice(1, textLen, long.MaxValue);
        Tensor temb;
        using (t.Scope("time_text_embed")) temb = _timeTextEmbed.Forward(timestep);
        var (imageRope, textRope) = _posEmbed.Forward(imgShapes, textLen);
        for (int i = from; i < to; i++)
            using (t.Scope($"transformer_blocks.{i}"))
                (text, image) = _blocks[i].Forward(image, text, temb, imageRope, textRope);
        return Tensor.Concat(1, text, image);
    }

    /// <summary>norm_out and proj_out on the image stream of the joined streams.</summary>
    public Tensor Output(Tensor joined, Tensor timestep, Tensor encoderHiddenStates)
    {
        var t = joined.Tracer;
        var image = joined.Slice(1, encoderHiddenStates.Size(1), long.MaxValue);
        Tensor temb;
        using (t.Scope("time_text_embed")) temb = _timeTextEmbed.Forward(timestep);
        return _projOut.Forward(_normOut.Forward(image, temb));
    }

    /// <summary>Traces one on-demand part (<see cref="TransformerParts"/>) of a checkpoint's transformer, its linears
    /// quantized as <see cref=\"TransformerPartGraph.Weights\"/> says.</summary>
    public static Graph.Graph TracePart(string componentDir, ITensorSource weights, string part, QuantizedLinears? quantization = null)
    {
        if (part == TransformerParts.TimeEmbedding) return TraceTimeEmbedding(componentDir, weights);
        string configPath = Path.Combine(componentDir, "config.json");
        var config = ComponentConfig.FromFile(configPath).ToRecord<QwenImageTransformerConfig>();
        config.Validate(configPath);
        var tracer = new Tracer("qwenimage_transformer_" + part);
        var w = TransformerPartGraph.Weights(tracer, weights, componentDir, part, quantization);
        var model = new QwenImageTransformer2DModel(w, config);
        w.CheckAllUsed();
        string dim = config.InnerDim.ToString();
        Tensor Ctx() => tracer.Input("encoder_hidden_states", TensorDType.F32, "batch", "text_len", config.JointAttentionDim.ToString());
        Tensor Timestep() => tracer.Input("timestep", TensorDType.F32, "batch");
        if (part == TransformerParts.Embed)
        {
            var hs = tracer.Input("hidden_states", TensorDType.F32, "batch", "image_tokens", config.InChannels.ToString());
            tracer.Output(model.Embed(hs, Ctx()), "hidden", "batch", "tokens", dim);
        }
        else if (TransformerParts.TryParseBlocks(part, out int from, out int to))
        {
            TransformerPartGraph.CheckBlocks(componentDir, part, to, config.NumLayers, "num_layers");
            var hidden = tracer.Input("hidden", TensorDType.F32, "batch", "tokens", dim);
            var ts = Timestep();
            var ctx = Ctx();
            var shapes = tracer.Input("img_shapes", TensorDType.I64, "3");
            tracer.Output(model.Blocks(hidden, from, to, ts, ctx, shapes), "hidden_out", "batch", "tokens", dim);
            tracer.Graph.Metadata[GraphMetadata.PlanTimeInputs] = "img_shapes";
        }
        else if (part == TransformerParts.Output)
        {
            var hidden = tracer.Input("hidden", TensorDType.F32, "batch", "tokens", dim);
            var ts = Timestep();
            tracer.Output(model.Output(hidden, ts, Ctx()), "sample", "batch", "image_tokens", (config.PatchSize * config.PatchSize * config.OutChannelsOrIn).ToString());
        }
        else throw new CheckpointException(componentDir, $"the Qwen-Image transformer has no part '{part}'");
        return TransformerPartGraph.Seal(tracer, "QwenImageTransformer2DModel", part);
    }
}
