using VisualGen.Exporter.Quantization;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Models.Shared;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Caching;

namespace VisualGen.Exporter.Models.Cosmos3;

/// <summary>
/// Cosmos3OmniTransformer in parts for step caches (<see cref="TransformerParts"/>): the same modules as
/// <see cref="Forward"/>, cut between the mixture-of-transformers layers. The two streams travel joined, text first
/// then vision ([1, text_len + vision_tokens, hidden], the order of the joint sequence the mRoPE positions describe);
/// each part reads the text length from input_ids. Cache-DiT's residuals are those of the joined stream, so a cached
/// step reuses the text tokens' residual too (they attend to the vision tokens' keys).
/// </summary>
public sealed partial class Cosmos3OmniTransformer
{
    /// <summary>The streams before the first layer, text then vision.</summary>
    public Tensor Embed(Tensor inputIds, Tensor hiddenStates, Tensor timestep, Tensor noisyTokens)
    {
        var (und, gen) = Streams(inputIds, hiddenStates, timestep, noisyTokens);
        return Tensor.Concat(1, und, gen);
    }

    /// <summary>Layers <paramref name="from"/>..<paramref name="to"/>-1 on the joined streams.</summary>
    public Tensor Blocks(Tensor joined, int from, int to, Tensor inputIds, Tensor positionIds)
    {
        var t = joined.Tracer;
        var textLen = inputIds.Size(0);
        var (undRope, genRope, causalMask) = Attention(textLen, positionIds);
        Tensor und = joined.Slice(1, 0L, textLen), gen = joined.Slice(1, textLen, long.MaxValue);
        for (int i = from; i < to; i++)
            using (t.Scope($"layers.{i}"))
                (und, gen) = _layers[i].Forward(und, gen, undRope, genRope, causalMask);
        return Tensor.Concat(1, und, gen);
    }

    /// <summary>norm_moe_gen and proj_out on the vision tokens of the joined streams.</summary>
    public Tensor Output(Tensor joined, Tensor inputIds) => Head(joined.Slice(1, inputIds.Size(0), long.MaxValue));

    /// <summary>Traces one on-demand part (<see cref="TransformerParts"/>), its linears quantized as
    /// <see cref="TransformerPartGraph.Weights"/> says.</summary>
    public static Graph.Graph TracePart(string componentDir, ITensorSource weights, string part, QuantizedLinears? quantization = null)
    {
        string configPath = Path.Combine(componentDir, "config.json");
        var config = ComponentConfig.FromFile(configPath).ToRecord<Cosmos3TransformerConfig>();
        config.Validate(configPath);
        var tracer = new Tracer("cosmos3_transformer_" + part);
        var w = TransformerPartGraph.Weights(tracer, weights, componentDir, part, quantization);
        var model = new Cosmos3OmniTransformer(w, config);
        w.Read("norm.weight");
        w.CheckAllUsed("lm_head.");
        string dim = config.HiddenSize.ToString();
        Tensor Ids() => tracer.Input("input_ids", TensorDType.I64, "text_len");
        Tensor Timestep() => tracer.Input("timestep", TensorDType.F32, "1");
        Tensor Hidden() => tracer.Input("hidden", TensorDType.F32, "1", "sequence", dim);
        if (part == TransformerParts.TimeEmbedding)
            // TeaCache's compared tensor: the timestep embedding the noisy frames' tokens get
            tracer.Output(model.Temb(Timestep()), "temb", "1", dim);
        else if (part == TransformerParts.Embed)
        {
            var ids = Ids();
            var hs = tracer.Input("hidden_states", TensorDType.F32, "vision_tokens", config.PatchLatentDim.ToString());
            var ts = Timestep();
            var noisy = tracer.Input("noisy_tokens", TensorDType.F32, "vision_tokens");
            tracer.Output(model.Embed(ids, hs, ts, noisy), "hidden", "1", "sequence", dim);
        }
        else if (TransformerParts.TryParseBlocks(part, out int from, out int to))
        {
            TransformerPartGraph.CheckBlocks(componentDir, part, to, config.NumHiddenLayers, "num_hidden_layers");
            var hidden = Hidden();
            var ids = Ids();
            var pos = tracer.Input("position_ids", TensorDType.F32, "3", "sequence");
            tracer.Output(model.Blocks(hidden, from, to, ids, pos), "hidden_out", "1", "sequence", dim);
            tracer.Graph.Metadata[Engines.GraphMetadata.PlanTimeInputs] = "position_ids";
        }
        else if (part == TransformerParts.Output)
        {
            var hidden = Hidden();
            tracer.Output(model.Output(hidden, Ids()), "sample", "vision_tokens", config.PatchLatentDim.ToString());
        }
        else throw new CheckpointException(componentDir, $"the Cosmos3 transformer has no part '{part}'");
        return TransformerPartGraph.Seal(tracer, "Cosmos3OmniTransformer", part);
    }
}
