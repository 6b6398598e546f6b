using VisualGen.Exporter.Quantization;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Models.Shared;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Flux;

/// <summary>
/// FluxTransformer2DModel (diffusers' transformer_flux.py), read top to bottom in the same order: x_embedder,
/// timestep (+ guidance) + pooled text embedding, context_embedder, RoPE over [txt_ids; img_ids], double-stream
/// blocks, single-stream blocks, norm_out, proj_out.
/// Graph inputs: hidden_states [batch, image_tokens, in_channels] (packed latents), encoder_hidden_states
/// [batch, text_tokens, joint_attention_dim], pooled_projections [batch, pooled_projection_dim], timestep [batch]
/// (t/1000 as FluxPipeline passes it; the graph multiplies by 1000 as diffusers does), img_ids [image_tokens, 3],
/// txt_ids [text_tokens, 3] (float), and guidance [batch] only when guidance_embeds (FLUX.1-dev; not schnell).
/// Output: sample [batch, image_tokens, patch²·out_channels].
/// </summary>
public sealed partial class FluxTransformer2D
{
    readonly FluxTransformerConfig _c;
    readonly FluxPosEmbed _posEmbed;
    readonly CombinedTimestepTextProjEmbeddings _timeTextEmbed;
    readonly Linear _contextEmbedder, _xEmbedder;
    readonly FluxTransformerBlock[] _transformerBlocks;
    readonly FluxSingleTransformerBlock[] _singleTransformerBlocks;
    readonly AdaLayerNormContinuous _normOut;
    readonly Linear _projOut;

    public FluxTransformer2D(Weights w, FluxTransformerConfig c)
    {
        _c = c;
        int dim = c.InnerDim;
        _posEmbed = new FluxPosEmbed(c.AxesDimsRope);
        _timeTextEmbed = new CombinedTimestepTextProjEmbeddings(w.Sub("time_text_embed"), dim, c.PooledProjectionDim, c.GuidanceEmbeds);
        _contextEmbedder = new Linear(w.Sub("context_embedder"), c.JointAttentionDim, dim);
        _xEmbedder = new Linear(w.Sub("x_embedder"), c.InChannels, dim);
        _transformerBlocks = Enumerable.Range(0, c.NumLayers)
            .Select(i => new FluxTransformerBlock(w.Sub($"transformer_blocks.{i}"), dim, c.NumAttentionHeads, c.AttentionHeadDim)).ToArray();
        _singleTransformerBlocks = Enumerable.Range(0, c.NumSingleLayers)
            .Select(i => new FluxSingleTransformerBlock(w.Sub($"single_transformer_blocks.{i}"), dim, c.NumAttentionHeads, c.AttentionHeadDim)).ToArray();
        _normOut = new AdaLayerNormContinuous(w.Sub("norm_out"), dim, dim, elementwiseAffine: false, eps: 1e-6f);
        _projOut = new Linear(w.Sub("proj_out"), dim, c.PatchSize * c.PatchSize * c.OutChannelsOrIn);
    }

    public Tensor Forward(Tensor hiddenStates, Tensor encoderHiddenStates, Tensor pooledProjections, Tensor timestep,
        Tensor imgIds, Tensor txtIds, Tensor? guidance)
    {
        var t = hiddenStates.Tracer;
        hiddenStates = _xEmbedder.Forward(hiddenStates);

        timestep = timestep * 1000f;
        if (guidance is not null) guidance = guidance * 1000f;
        var temb = _timeTextEmbed.Forward(timestep, guidance, pooledProjections);
        encoderHiddenStates = _contextEmbedder.Forward(encoderHiddenStates);

        var rope = _posEmbed.Forward(Tensor.Concat(0, txtIds, imgIds));

        for (int i = 0; i < _transformerBlocks.Length; i++)
            using (t.Scope($"transformer_blocks.{i}"))
                (encoderHiddenStates, hiddenStates) = _transformerBlocks[i].Forward(hiddenStates, encoderHiddenStates, temb, rope);

        for (int i = 0; i < _singleTransformerBlocks.Length; i++)
            using (t.Scope($"single_transformer_blocks.{i}"))
                (encoderHiddenStates, hiddenStates) = _singleTransformerBlocks[i].Forward(hiddenStates, encoderHiddenStates, temb, rope);

        hiddenStates = _normOut.Forward(hiddenStates, temb);
        return _projOut.Forward(hiddenStates);
    }

    /// <summary>The on-demand part <c>time_embedding</c> for TeaCache: timestep (t/1000) [and guidance] → temb, the
    /// timestep (+ guidance) embedding without the pooled text projection, as TensorRT-LLM's FLUX pipeline compares it.</summary>
    public static Graph.Graph TraceTimeEmbedding(string componentDir, ITensorSource weights)
    {
        var config = FluxTransformerConfig.Read(componentDir);
        var tracer = new Tracer("flux_transformer_time_embedding");
        var w = new Weights(tracer, weights, componentDir);
        var embed = new CombinedTimestepTextProjEmbeddings(w.Sub("time_text_embed"), config.InnerDim, config.PooledProjectionDim, config.GuidanceEmbeds);
        var ts = tracer.Input("timestep", TensorDType.F32, "batch");
        var guidance = config.GuidanceEmbeds ? tracer.Input("guidance", TensorDType.F32, "batch") : null;
        var temb = embed.TimeGuidance(ts * 1000f, guidance is null ? null : guidance * 1000f);
        tracer.Output(temb, "temb", "batch", config.InnerDim.ToString());
        return TransformerPartGraph.Seal(tracer, "FluxTransformer2DModel", "time_embedding");   // drops the pooled text projection's weights
    }

    /// <summary>Traces the transformer of a checkpoint component folder into a graph.</summary>
    public static Graph.Graph Trace(string componentDir, ITensorSource weights, QuantizedLinears? quantization = null)
    {
        var config = FluxTransformerConfig.Read(componentDir);
        var tracer = new Tracer("flux_transformer");
        var w = new Weights(tracer, weights, componentDir, quantization);
        var model = new FluxTransformer2D(w, config);
        w.CheckAllUsed();
        var hs = tracer.Input("hidden_states", TensorDType.F32, "batch", "image_tokens", config.InChannels.ToString());
        var ctx = tracer.Input("encoder_hidden_states", TensorDType.F32, "batch", "text_tokens", config.JointAttentionDim.ToString());
        var pooled = tracer.Input("pooled_projections", TensorDType.F32, "batch", config.PooledProjectionDim.ToString());
        var ts = tracer.Input("timestep", TensorDType.F32, "batch");
        var imgIds = tracer.Input("img_ids", TensorDType.F32, "image_tokens", "3");
        var txtIds = tracer.Input("txt_ids", TensorDType.F32, "text_tokens", "3");
        var guidance = config.GuidanceEmbeds ? tracer.Input("guidance", TensorDType.F32, "batch") : null;
        var outT = model.Forward(hs, ctx, pooled, ts, imgIds, txtIds, guidance);
        tracer.Output(outT, "sample", "batch", "image_tokens", (config.PatchSize * config.PatchSize * config.OutChannelsOrIn).ToString());
        tracer.Graph.Metadata["visualgen.class"] = "FluxTransformer2DModel";
        tracer.Graph.Metadata[GraphMetadata.PlanTimeInputs] = "img_ids,txt_ids";
        tracer.Graph.Metadata["visualgen.guidance_embeds"] = config.GuidanceEmbeds ? "true" : "false";
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }
}
