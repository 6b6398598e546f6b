using VisualGen.Exporter.Quantization;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Models.Shared;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Caching;

namespace VisualGen.Exporter.Models.Wan;

/// <summary>
/// WanTransformer3DModel in parts, for step caches (<see cref="TransformerParts"/>): the same modules and weights as
/// <see cref="Forward"/>, cut at the token stream. Between parts the tokens travel as a grid
/// [batch, patch_frames, patch_height, patch_width, dim], so each part knows the latent grid (RoPE, unpatchify).
/// The whole-model graph is not changed by these parts.
/// </summary>
public sealed partial class WanTransformer3D
{
    /// <summary>temb = time_embedder(timesteps_proj(t)): what TensorRT-LLM's TeaCache compares for Wan.</summary>
    public Tensor TimeEmbedding(Tensor timestep, bool perTokenTimesteps) => _conditionEmbedder.Temb(timestep, perTokenTimesteps);

    /// <summary>Patch embedding: hidden_states → token grid.</summary>
    public Tensor Embed(Tensor hiddenStates)
    {
        int[] p = _c.PatchSize;
        return hiddenStates.Conv(_patchWeight, _patchBias, [p[0], p[1], p[2]], [0, 0, 0, 0, 0, 0]).Transpose(0, 2, 3, 4, 1);
    }

    /// <summary>Blocks <paramref name="from"/>..<paramref name="to"/>-1 on a token grid, with the conditioning recomputed from the inputs.</summary>
    public Tensor Blocks(Tensor grid, int from, int to, Tensor timestep, bool perTokenTimesteps, Tensor encoderHiddenStates, Tensor? encoderHiddenStatesImage)
    {
        if (from < 0 || to > _blocks.Length || from >= to)
            throw new ArgumentOutOfRangeException(nameof(to), $"blocks {from}..{to - 1} are not within the transformer's {_blocks.Length} blocks");
        var t = grid.Tracer;
        Dim batch = grid.Size(0), ppf = grid.Size(1), pph = grid.Size(2), ppw = grid.Size(3);
        var rope = _rope.Forward(t, ppf, pph, ppw);
        var x = grid.Reshape(batch, -1, _c.InnerDim);
        var (_, timestepProj, context, image) = _conditionEmbedder.Forward(timestep, perTokenTimesteps, encoderHiddenStates, encoderHiddenStatesImage);
        Dim? imageTokens = null;
        if (image is not null)
        {
            imageTokens = image.Size(1);
            context = Tensor.Concat(1, image, context);
        }
        x = RunBlocks(x, from, to, context, timestepProj, perTokenTimesteps, rope, imageTokens);
        return x.Reshape(batch, ppf, pph, ppw, _c.InnerDim);
    }

    /// <summary>Output norm, projection and unpatchify on a token grid.</summary>
    public Tensor Output(Tensor grid, Tensor timestep, bool perTokenTimesteps)
    {
        Dim batch = grid.Size(0), ppf = grid.Size(1), pph = grid.Size(2), ppw = grid.Size(3);
        var temb = TimeEmbedding(timestep, perTokenTimesteps);
        return OutputHead(grid.Reshape(batch, -1, _c.InnerDim), temb, perTokenTimesteps, batch, ppf, pph, ppw);
    }

    /// <summary>Traces one on-demand part (<see cref="TransformerParts"/>) of a checkpoint's transformer, its linears
    /// quantized as <see cref=\"TransformerPartGraph.Weights\"/> says.</summary>
    public static Graph.Graph TracePart(string componentDir, ITensorSource weights, bool perTokenTimesteps, string part, QuantizedLinears? quantization = null)
    {
        var config = ComponentConfig.FromFile(Path.Combine(componentDir, "config.json")).ToRecord<WanTransformerConfig>();
        var tracer = new Tracer("wan_transformer_" + part);
        var w = TransformerPartGraph.Weights(tracer, weights, componentDir, part, quantization);
        var model = new WanTransformer3D(w, config);
        w.CheckAllUsed("norm_added_q");
        string[] grid = ["batch", "patch_frames", "patch_height", "patch_width", config.InnerDim.ToString()];
        Tensor Timestep() => perTokenTimesteps ? tracer.Input("timestep", TensorDType.F32, "batch", "tokens") : tracer.Input("timestep", TensorDType.F32, "batch");
        if (part == TransformerParts.TimeEmbedding)
        {
            var temb = model.TimeEmbedding(Timestep(), perTokenTimesteps);
            tracer.Output(temb, "temb", perTokenTimesteps ? ["batch", "tokens", config.InnerDim.ToString()] : ["batch", config.InnerDim.ToString()]);
        }
        else if (part == TransformerParts.Embed)
        {
            var hs = tracer.Input("hidden_states", TensorDType.F32, "batch", config.InChannels.ToString(), "frames", "height", "width");
            tracer.Output(model.Embed(hs), "hidden", grid);
        }
        else if (TransformerParts.TryParseBlocks(part, out int from, out int to))
        {
            TransformerPartGraph.CheckBlocks(componentDir, part, to, config.NumLayers, "num_layers");
            var hidden = tracer.Input("hidden", TensorDType.F32, grid);
            var ts = Timestep();
            var ctx = tracer.Input("encoder_hidden_states", TensorDType.F32, "batch", "text_len", config.TextDim.ToString());
            var img = config.ImageDim is int id ? tracer.Input("encoder_hidden_states_image", TensorDType.F32, "batch", "image_len", id.ToString()) : null;
            tracer.Output(model.Blocks(hidden, from, to, ts, perTokenTimesteps, ctx, img), "hidden_out", grid);
        }
        else if (part == TransformerParts.Output)
        {
            var hidden = tracer.Input("hidden", TensorDType.F32, grid);
            tracer.Output(model.Output(hidden, Timestep(), perTokenTimesteps), "sample", "batch", config.OutChannelsOrIn.ToString(), "frames", "height", "width");
        }
        else throw new CheckpointException(componentDir, $"the Wan transformer has no part '{part}'");
        return TransformerPartGraph.Seal(tracer, "WanTransformer3DModel", part);
    }
}
