using VisualGen.Exporter.Quantization;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Models.Flux;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Flux2;

/// <summary>
/// Flux2Transformer2DModel (diffusers' transformer_flux2.py), read top to bottom in the same order: timestep
/// (+ guidance) embedding, the three shared modulations (double-stream image, double-stream text, single-stream),
/// x_embedder and context_embedder, 4-axis RoPE over [txt_ids; img_ids], double-stream blocks, single-stream blocks
/// over the concatenated tokens, norm_out, proj_out. Every linear layer is bias-free.
/// Graph inputs: hidden_states [batch, image_tokens, in_channels] (packed patchified latents), encoder_hidden_states
/// [batch, text_tokens, joint_attention_dim], timestep [batch] (t/1000 as Flux2Pipeline passes it; the graph
/// multiplies by 1000 as diffusers does), img_ids [image_tokens, axes] and txt_ids [text_tokens, axes] (float
/// (T, H, W, L) coordinates), and guidance [batch] when guidance_embeds.
/// Output: sample [batch, image_tokens, out_channels].
/// </summary>
public sealed partial class Flux2Transformer2D
{
    readonly FluxPosEmbed _posEmbed;
    readonly Flux2TimestepGuidanceEmbeddings _timeGuidanceEmbed;
    readonly Flux2Modulation _doubleStreamModulationImg, _doubleStreamModulationTxt, _singleStreamModulation;
    readonly Linear _xEmbedder, _contextEmbedder;
    readonly Flux2TransformerBlock[] _transformerBlocks;
    readonly Flux2SingleTransformerBlock[] _singleTransformerBlocks;
    readonly AdaLayerNormContinuous _normOut;
    readonly Linear _projOut;

    public Flux2Transformer2D(Weights w, Flux2TransformerConfig c)
    {
        int dim = c.InnerDim;
        _posEmbed = new FluxPosEmbed(c.AxesDimsRope, c.RopeTheta);
        _timeGuidanceEmbed = new Flux2TimestepGuidanceEmbeddings(w.Sub("time_guidance_embed"), c.TimestepGuidanceChannels, dim, c.GuidanceEmbeds);
        _doubleStreamModulationImg = new Flux2Modulation(w.Sub("double_stream_modulation_img"), dim, 2);
        _doubleStreamModulationTxt = new Flux2Modulation(w.Sub("double_stream_modulation_txt"), dim, 2);
        _singleStreamModulation = new Flux2Modulation(w.Sub("single_stream_modulation"), dim, 1);
        _xEmbedder = new Linear(w.Sub("x_embedder"), c.InChannels, dim, bias: false);
        _contextEmbedder = new Linear(w.Sub("context_embedder"), c.JointAttentionDim, dim, bias: false);
        _transformerBlocks = Enumerable.Range(0, c.NumLayers)
            .Select(i => new Flux2TransformerBlock(w.Sub($"transformer_blocks.{i}"), dim, c.NumAttentionHeads, c.AttentionHeadDim, c.MlpRatio, c.Eps)).ToArray();
        _singleTransformerBlocks = Enumerable.Range(0, c.NumSingleLayers)
            .Select(i => new Flux2SingleTransformerBlock(w.Sub($"single_transformer_blocks.{i}"), dim, c.NumAttentionHeads, c.AttentionHeadDim, c.MlpRatio, c.Eps)).ToArray();
        _normOut = new AdaLayerNormContinuous(w.Sub("norm_out"), dim, dim, elementwiseAffine: false, eps: c.Eps, bias: false);
        _projOut = new Linear(w.Sub("proj_out"), dim, c.PatchSize * c.PatchSize * c.OutChannelsOrIn, bias: false);
    }

    public Tensor Forward(Tensor hiddenStates, Tensor encoderHiddenStates, Tensor timestep, Tensor imgIds, Tensor txtIds, Tensor? guidance)
    {
        var t = hiddenStates.Tracer;
        var textLen = encoderHiddenStates.Size(1);

        // 1. timestep embedding and the modulation parameters every block shares
        timestep = timestep * 1000f;
        if (guidance is not null) guidance = guidance * 1000f;
        var temb = _timeGuidanceEmbed.Forward(timestep, guidance);
        var modImg = _doubleStreamModulationImg.Forward(temb);
        var modTxt = _doubleStreamModulationTxt.Forward(temb);
        var modSingle = _singleStreamModulation.Forward(temb)[0];

        // 2. input projections
        hiddenStates = _xEmbedder.Forward(hiddenStates);
        encoderHiddenStates = _contextEmbedder.Forward(encoderHiddenStates);

        // 3. RoPE over text then image positions
        var rope = _posEmbed.Forward(Tensor.Concat(0, txtIds, imgIds));

        // 4. double-stream blocks
        for (int i = 0; i < _transformerBlocks.Length; i++)
            using (t.Scope($"transformer_blocks.{i}"))
                (encoderHiddenStates, hiddenStates) = _transformerBlocks[i].Forward(hiddenStates, encoderHiddenStates, modImg, modTxt, rope);

        // 5. single-stream blocks over [text; image]
        hiddenStates = Tensor.Concat(1, encoderHiddenStates, hiddenStates);
        for (int i = 0; i < _singleTransformerBlocks.Length; i++)
            using (t.Scope($"single_transformer_blocks.{i}"))
                hiddenStates = _singleTransformerBlocks[i].Forward(hiddenStates, modSingle, rope);
        hiddenStates = hiddenStates.Slice(1, textLen, long.MaxValue);

        // 6. output
        return _projOut.Forward(_normOut.Forward(hiddenStates, temb));
    }

    /// <summary>Traces the transformer of a checkpoint component folder into a graph (its linears quantized under
    /// <paramref name="quantization"/>).</summary>
    public static Graph.Graph Trace(string componentDir, ITensorSource weights, QuantizedLinears? quantization = null)
    {
        var config = Flux2TransformerConfig.Read(componentDir);
        var tracer = new Tracer("flux2_transformer");
        var w = new Weights(tracer, weights, componentDir, quantization);
        var model = new Flux2Transformer2D(w, config);
        w.CheckAllUsed();
        string axes = config.Axes.ToString();
        var hs = tracer.Input("hidden_states", TensorDType.F32, "batch", "image_tokens", config.InChannels.ToString());
        var ctx = tracer.Input("encoder_hidden_states", TensorDType.F32, "batch", "text_tokens", config.JointAttentionDim.ToString());
        var ts = tracer.Input("timestep", TensorDType.F32, "batch");
        var imgIds = tracer.Input("img_ids", TensorDType.F32, "image_tokens", axes);
        var txtIds = tracer.Input("txt_ids", TensorDType.F32, "text_tokens", axes);
        var guidance = config.GuidanceEmbeds ? tracer.Input("guidance", TensorDType.F32, "batch") : null;
        var outT = model.Forward(hs, ctx, ts, imgIds, txtIds, guidance);
        tracer.Output(outT, "sample", "batch", "image_tokens", (config.PatchSize * config.PatchSize * config.OutChannelsOrIn).ToString());
        tracer.Graph.Metadata["visualgen.class"] = "Flux2Transformer2DModel";
        tracer.Graph.Metadata[GraphMetadata.PlanTimeInputs] = "img_ids,txt_ids";
        tracer.Graph.Metadata["visualgen.guidance_embeds"] = config.GuidanceEmbeds ? "true" : "false";
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }
}
