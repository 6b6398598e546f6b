using VisualGen.Exporter.Quantization;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Wan;

/// <summary>
/// WanTransformer3DModel (diffusers' transformer_wan.py), read top to bottom in the same order: RoPE, patch
/// embedding, condition embedding, blocks, modulated output norm, projection, unpatchify.
/// Graph inputs: hidden_states [batch, in_channels, frames, height, width], timestep [batch] (or [batch, tokens]
/// with expand_timesteps), encoder_hidden_states [batch, text_len, text_dim], and for I2V
/// encoder_hidden_states_image [batch, image_tokens, image_dim]. Output: sample, shaped like hidden_states
/// with out_channels.
/// </summary>
public sealed partial class WanTransformer3D
{
    readonly WanTransformerConfig _c;
    readonly WanRotaryPosEmbed _rope;
    readonly Tensor _patchWeight, _patchBias;
    readonly WanTimeTextImageEmbedding _conditionEmbedder;
    readonly WanTransformerBlock[] _blocks;
    readonly Linear _projOut;
    readonly Tensor _scaleShiftTable;

    public WanTransformer3D(Weights w, WanTransformerConfig c)
    {
        _c = c;
        int dim = c.InnerDim;
        int[] p = c.PatchSize;
        _rope = new WanRotaryPosEmbed(c.AttentionHeadDim, c.RopeMaxSeqLen);
        _patchWeight = w.Get("patch_embedding.weight", [dim, c.InChannels, p[0], p[1], p[2]]);
        _patchBias = w.Get("patch_embedding.bias", [dim]);
        _conditionEmbedder = new WanTimeTextImageEmbedding(w.Sub("condition_embedder"), dim, c.FreqDim, c.TextDim, c.ImageDim, c.PosEmbedSeqLen);
        _blocks = Enumerable.Range(0, c.NumLayers).Select(i => new WanTransformerBlock(w.Sub($"blocks.{i}"), c)).ToArray();
        _projOut = new Linear(w.Sub("proj_out"), dim, c.OutChannelsOrIn * p[0] * p[1] * p[2]);
        _scaleShiftTable = w.Get("scale_shift_table", [1, 2, dim]);
    }

    public Tensor Forward(Tensor hiddenStates, Tensor timestep, bool perTokenTimesteps, Tensor encoderHiddenStates, Tensor? encoderHiddenStatesImage)
    {
        var t = hiddenStates.Tracer;
        int[] p = _c.PatchSize;
        var batch = hiddenStates.Size(0);

        var patches = hiddenStates.Conv(_patchWeight, _patchBias, [p[0], p[1], p[2]], [0, 0, 0, 0, 0, 0]);
        Dim ppf = patches.Size(2), pph = patches.Size(3), ppw = patches.Size(4);
        var rope = _rope.Forward(t, ppf, pph, ppw);
        var x = patches.Reshape(0, 0, -1).Transpose(0, 2, 1);

        var (temb, timestepProj, context, image) = _conditionEmbedder.Forward(timestep, perTokenTimesteps, encoderHiddenStates, encoderHiddenStatesImage);
        Dim? imageTokens = null;
        if (image is not null)
        {
            imageTokens = image.Size(1);
            context = Tensor.Concat(1, image, context);
        }

        x = RunBlocks(x, 0, _blocks.Length, context, timestepProj, perTokenTimesteps, rope, imageTokens);

        return OutputHead(x, temb, perTokenTimesteps, batch, ppf, pph, ppw);
    }

    /// <summary>Blocks <paramref name="from"/>..<paramref name="to"/>-1, every block's modulation traced first (it reads only
    /// the timestep projection): an engine that fuses a block's last residual with the next block's modulated norm then
    /// finds the next block's scale and shift computed.</summary>
    Tensor RunBlocks(Tensor x, int from, int to, Tensor context, Tensor timestepProj, bool perTokenTimesteps,
        (Tensor Cos, Tensor Sin) rope, Dim? imageTokens)
    {
        var t = x.Tracer;
        var mods = new Tensor[to][];
        for (int i = from; i < to; i++)
            using (t.Scope($"blocks.{i}"))
                mods[i] = _blocks[i].Modulation(timestepProj, perTokenTimesteps);
        for (int i = from; i < to; i++)
            using (t.Scope($"blocks.{i}"))
                x = _blocks[i].Forward(x, context, mods[i], rope, imageTokens);
        return x;
    }

    /// <summary>The modulated output norm, the projection and unpatchify: tokens [batch, seq, dim] → sample.</summary>
    Tensor OutputHead(Tensor x, Tensor temb, bool perTokenTimesteps, Dim batch, Dim ppf, Dim pph, Dim ppw)
    {
        int[] p = _c.PatchSize;
        Tensor shift, scale;
        if (perTokenTimesteps)
        {
            var ss = (_scaleShiftTable.Unsqueeze(0) + temb.Unsqueeze(2)).Chunk(2, 2);
            (shift, scale) = (ss[0].Squeeze(2), ss[1].Squeeze(2));
        }
        else
        {
            var ss = (_scaleShiftTable + temb.Unsqueeze(1)).Chunk(2, 1);
            (shift, scale) = (ss[0], ss[1]);
        }
        x = x.LayerNorm(null, null, _c.Eps, _c.InnerDim) * (1f + scale) + shift;
        x = _projOut.Forward(x);

        x = x.Reshape(batch, ppf, pph, ppw, p[0], p[1], p[2], -1).Transpose(0, 7, 1, 4, 2, 5, 3, 6);
        return x.Reshape(batch, _c.OutChannelsOrIn, ppf * p[0], pph * p[1], ppw * p[2]);
    }

    /// <summary>Traces the whole transformer of a checkpoint component folder into a graph.</summary>
    public static Graph.Graph Trace(string componentDir, ITensorSource weights, bool perTokenTimesteps = false, QuantizedLinears? quantization = null)
    {
        var config = ComponentConfig.FromFile(Path.Combine(componentDir, "config.json")).ToRecord<WanTransformerConfig>();
        var tracer = new Tracer("wan_transformer");
        var w = new Weights(tracer, weights, componentDir, quantization);
        var model = new WanTransformer3D(w, config);
        w.CheckAllUsed("norm_added_q");
        var hs = tracer.Input("hidden_states", TensorDType.F32, "batch", config.InChannels.ToString(), "frames", "height", "width");
        var ts = perTokenTimesteps ? tracer.Input("timestep", TensorDType.F32, "batch", "tokens") : tracer.Input("timestep", TensorDType.F32, "batch");
        var ctx = tracer.Input("encoder_hidden_states", TensorDType.F32, "batch", "text_len", config.TextDim.ToString());
        var img = config.ImageDim is int id ? tracer.Input("encoder_hidden_states_image", TensorDType.F32, "batch", "image_len", id.ToString()) : null;
        var outT = model.Forward(hs, ts, perTokenTimesteps, ctx, img);
        tracer.Output(outT, "sample", "batch", config.OutChannelsOrIn.ToString(), "frames", "height", "width");
        tracer.Graph.Metadata["visualgen.class"] = "WanTransformer3DModel";
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }
}
