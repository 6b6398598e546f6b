using VisualGen.Exporter.Quantization;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Models.Shared;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Caching;

namespace VisualGen.Exporter.Models.Flux;

/// <summary>
/// FluxTransformer2DModel in parts for Cache-DiT (<see cref="TransformerParts"/>): the same modules as
/// <see cref="Forward"/>, cut between blocks. Blocks are numbered through both kinds: the double-stream blocks first
/// (0..num_layers-1), then the single-stream ones. The streams travel joined, text first then image
/// ([batch, text_tokens + image_tokens, dim], as the single-stream blocks join them); each part reads the text length
/// from encoder_hidden_states.
/// </summary>
public sealed partial class FluxTransformer2D
{
    /// <summary>context_embedder and x_embedder: the streams before the first block, text then image.</summary>
    public Tensor Embed(Tensor hiddenStates, Tensor encoderHiddenStates) =>
        Tensor.Concat(1, _contextEmbedder.Forward(encoderHiddenStates), _xEmbedder.Forward(hiddenStates));

    Tensor Temb(Tensor timestep, Tensor? guidance, Tensor pooledProjections) =>
        _timeTextEmbed.Forward(timestep * 1000f, guidance is null ? null : guidance * 1000f, pooledProjections);

    /// <summary>Blocks <paramref name="from"/>..<paramref name="to"/>-1 (double-stream, then single-stream) on the joined streams.</summary>
    public Tensor Blocks(Tensor joined, int from, int to, Tensor timestep, Tensor? guidance, Tensor pooledProjections,
        Tensor encoderHiddenStates, Tensor imgIds, Tensor txtIds)
    {
        var t = joined.Tracer;
        var textLen = encoderHiddenStates.Size(1);
        Tensor text = joined.Slice(1, 0L, textLen), image = joined.Slice(1, textLen, long.MaxValue);
        var temb = Temb(timestep, guidance, pooledProjections);
        var rope = _posEmbed.Forward(Tensor.Concat(0, txtIds, imgIds));
        int doubles = _transformerBlocks.Length;
        for (int i = from; i < to; i++)
            if (i < doubles)
                using (t.Scope($"transformer_blocks.{i}"))
                    (text, image) = _transformerBlocks[i].Forward(image, text, temb, rope);
            else
                using (t.Scope($"single_transformer_blocks.{i - doubles}"))
                    (text, image) = _singleTransformerBlocks[i - doubles].Forward(image, text, temb, rope);
        return Tensor.Concat(1, text, image);
    }

    /// <summary>norm_out and proj_out on the image stream of the joined streams.</summary>
    public Tensor Output(Tensor joined, Tensor timestep, Tensor? guidance, Tensor pooledProjections, Tensor encoderHiddenStates)
    {
        var image = joined.Slice(1, encoderHiddenStates.Size(1), long.MaxValue);
        return _projOut.Forward(_normOut.Forward(image, Temb(timestep, guidance, pooledProjections)));
    }

    /// <summary>Traces one on-demand part (<see cref="TransformerParts"/>) of a checkpoint's transformer, its linears
    /// quantized as <see cref=\"TransformerPartGraph.Weights\"/> says.</summary>
    public static Graph.Graph TracePart(string componentDir, ITensorSource weights, string part, QuantizedLinears? quantization = null)
    {
        if (part == TransformerParts.TimeEmbedding) return TraceTimeEmbedding(componentDir, weights);
        var config = FluxTransformerConfig.Read(componentDir);
        var tracer = new Tracer("flux_transformer_" + part);
        var w = TransformerPartGraph.Weights(tracer, weights, componentDir, part, quantization);
        var model = new FluxTransformer2D(w, config);
        w.CheckAllUsed();
        string dim = config.InnerDim.ToString();
        int blocks = config.NumLayers + config.NumSingleLayers;
        Tensor Ctx() => tracer.Input("encoder_hidden_states", TensorDType.F32, "batch", "text_tokens", config.JointAttentionDim.ToString());
        (Tensor Timestep, Tensor? Guidance, Tensor Pooled) Conditioning() => (
            tracer.Input("timestep", TensorDType.F32, "batch"),
            config.GuidanceEmbeds ? tracer.Input("guidance", TensorDType.F32, "batch") : null,
            tracer.Input("pooled_projections", TensorDType.F32, "batch", config.PooledProjectionDim.ToString()));
        if (part == TransformerParts.Embed)
        {
            var hs = tracer.Input("hidden_states", TensorDType.F32, "batch", "image_tokens", config.InChannels.ToString());
            tracer.Output(model.Embed(hs, Ctx()), "hidden", "batch", "tokens", dim);
        }
        else if (TransformerParts.TryParseBlocks(part, out int from, out int to))
        {
            TransformerPartGraph.CheckBlocks(componentDir, part, to, blocks, "num_layers + num_single_layers");
            var hidden = tracer.Input("hidden", TensorDType.F32, "batch", "tokens", dim);
            var (ts, guidance, pooled) = Conditioning();
            var ctx = Ctx();
            var imgIds = tracer.Input("img_ids", TensorDType.F32, "image_tokens", "3");
            var txtIds = tracer.Input("txt_ids", TensorDType.F32, "text_tokens", "3");
            tracer.Output(model.Blocks(hidden, from, to, ts, guidance, pooled, ctx, imgIds, txtIds), "hidden_out", "batch", "tokens", dim);
            tracer.Graph.Metadata[GraphMetadata.PlanTimeInputs] = "img_ids,txt_ids";
        }
        else if (part == TransformerParts.Output)
        {
            var hidden = tracer.Input("hidden", TensorDType.F32, "batch", "tokens", dim);
            var (ts, guidance, pooled) = Conditioning();
            tracer.Output(model.Output(hidden, ts, guidance, pooled, Ctx()), "sample", "batch", "image_tokens",
                (config.PatchSize * config.PatchSize * config.OutChannelsOrIn).ToString());
        }
        else throw new CheckpointException(componentDir, $"the FLUX transformer has no part '{part}'");
        return TransformerPartGraph.Seal(tracer, "FluxTransformer2DModel", part, config.GuidanceEmbeds);
    }
}
