using VisualGen.Exporter.Quantization;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Models.Shared;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Caching;

namespace VisualGen.Exporter.Models.Flux2;

/// <summary>
/// Flux2Transformer2DModel in parts for step caches (<see cref="TransformerParts"/>): the same modules as
/// <see cref="Forward"/>, cut between blocks. Blocks are numbered through both kinds, the double-stream blocks first
/// (0..num_layers-1), then the single-stream ones. The streams travel joined, text first then image
/// ([batch, text_tokens + image_tokens, dim], as the single-stream blocks join them); each part reads the text length
/// from encoder_hidden_states. The time embedding and the three shared modulations are recomputed by every part that
/// needs them (a few small linears).
/// </summary>
public sealed partial class Flux2Transformer2D
{
    /// <summary>context_embedder and x_embedder: the streams before the first block, text then image.</summary>
    public Tensor Embed(Tensor hiddenStates, Tensor encoderHiddenStates) =>
        Tensor.Concat(1, _contextEmbedder.Forward(encoderHiddenStates), _xEmbedder.Forward(hiddenStates));

    Tensor Temb(Tensor timestep, Tensor? guidance) =>
        _timeGuidanceEmbed.Forward(timestep * 1000f, guidance is null ? null : guidance * 1000f);

    /// <summary>Blocks <paramref name="from"/>..<paramref name="to"/>-1 (double-stream, then single-stream) on the joined streams.</summary>
    public Tensor Blocks(Tensor joined, int from, int to, Tensor timestep, Tensor? guidance, Tensor encoderHiddenStates,
        Tensor imgIds, Tensor txtIds)
    {
        var t = joined.Tracer;
        var textLen = encoderHiddenStates.Size(1);
        var temb = Temb(timestep, guidance);
        var rope = _posEmbed.Forward(Tensor.Concat(0, txtIds, imgIds));
        int doubles = _transformerBlocks.Length;
        if (from < doubles)
        {
            var modImg = _doubleStreamModulationImg.Forward(temb);
            var modTxt = _doubleStreamModulationTxt.Forward(temb);
            Tensor text = joined.Slice(1, 0L, textLen), image = joined.Slice(1, textLen, long.MaxValue);
            for (int i = from; i < Math.Min(to, doubles); i++)
                using (t.Scope($"transformer_blocks.{i}"))
                    (text, image) = _transformerBlocks[i].Forward(image, text, modImg, modTxt, rope);
            joined = Tensor.Concat(1, text, image);
        }
        if (to > doubles)
        {
            var modSingle = _singleStreamModulation.Forward(temb)[0];
            for (int i = Math.Max(from, doubles); i < to; i++)
                using (t.Scope($"single_transformer_blocks.{i - doubles}"))
                    joined = _singleTransformerBlocks[i - doubles].Forward(joined, modSingle, rope);
        }
        return joined;
    }

    /// <summary>norm_out and proj_out on the image stream of the joined streams.</summary>
    public Tensor Output(Tensor joined, Tensor timestep, Tensor? guidance, Tensor encoderHiddenStates)
    {
        var image = joined.Slice(1, encoderHiddenStates.Size(1), long.MaxValue);
        return _projOut.Forward(_normOut.Forward(image, Temb(timestep, guidance)));
    }

    /// <summary>Traces one on-demand part (<see cref="TransformerParts"/>), its linears quantized as
    /// <see cref="TransformerPartGraph.Weights"/> says.</summary>
    public static Graph.Graph TracePart(string componentDir, ITensorSource weights, string part, QuantizedLinears? quantization = null)
    {
        var config = Flux2TransformerConfig.Read(componentDir);
        var tracer = new Tracer("flux2_transformer_" + part);
        var w = TransformerPartGraph.Weights(tracer, weights, componentDir, part, quantization);
        string dim = config.InnerDim.ToString(), axes = config.Axes.ToString();
        int blocks = config.NumLayers + config.NumSingleLayers;
        Tensor Ctx() => tracer.Input("encoder_hidden_states", TensorDType.F32, "batch", "text_tokens", config.JointAttentionDim.ToString());
        (Tensor Timestep, Tensor? Guidance) Conditioning() => (
            tracer.Input("timestep", TensorDType.F32, "batch"),
            config.GuidanceEmbeds ? tracer.Input("guidance", TensorDType.F32, "batch") : null);
        if (part == TransformerParts.TimeEmbedding)
        {
            // TeaCache's compared tensor: the timestep (+ guidance) embedding alone
            var embed = new Flux2TimestepGuidanceEmbeddings(w.Sub("time_guidance_embed"), config.TimestepGuidanceChannels, config.InnerDim, config.GuidanceEmbeds);
            var (ts, guidance) = Conditioning();
            tracer.Output(embed.Forward(ts * 1000f, guidance is null ? null : guidance * 1000f), "temb", "batch", dim);
        }
        else
        {
            var model = new Flux2Transformer2D(w, config);
            w.CheckAllUsed();
            if (part == TransformerParts.Embed)
            {
                var hs = tracer.Input("hidden_states", TensorDType.F32, "batch", "image_tokens", config.InChannels.ToString());
                tracer.Output(model.Embed(hs, Ctx()), "hidden", "batch", "tokens", dim);
            }
            else if (TransformerParts.TryParseBlocks(part, out int from, out int to))
            {
                TransformerPartGraph.CheckBlocks(componentDir, part, to, blocks, "num_layers + num_single_layers");
                var hidden = tracer.Input("hidden", TensorDType.F32, "batch", "tokens", dim);
                var (ts, guidance) = Conditioning();
                var ctx = Ctx();
                var imgIds = tracer.Input("img_ids", TensorDType.F32, "image_tokens", axes);
                var txtIds = tracer.Input("txt_ids", TensorDType.F32, "text_tokens", axes);
                tracer.Output(model.Blocks(hidden, from, to, ts, guidance, ctx, imgIds, txtIds), "hidden_out", "batch", "tokens", dim);
                tracer.Graph.Metadata[GraphMetadata.PlanTimeInputs] = "img_ids,txt_ids";
            }
            else if (part == TransformerParts.Output)
            {
                var hidden = tracer.Input("hidden", TensorDType.F32, "batch", "tokens", dim);
                var (ts, guidance) = Conditioning();
                tracer.Output(model.Output(hidden, ts, guidance, Ctx()), "sample", "batch", "image_tokens",
                    (config.PatchSize * config.PatchSize * config.OutChannelsOrIn).ToString());
            }
            else throw new CheckpointException(componentDir, $"the FLUX.2 transformer has no part '{part}'");
        }
        return TransformerPartGraph.Seal(tracer, "Flux2Transformer2DModel", part, config.GuidanceEmbeds);
    }
}
