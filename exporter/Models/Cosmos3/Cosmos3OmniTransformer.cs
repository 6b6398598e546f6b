using VisualGen.Exporter.Quantization;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Cosmos3;

/// <summary>
/// Cosmos3OmniTransformer (diffusers' transformer_cosmos3.py) for vision generation, read top to bottom in the same
/// order: text token ids through embed_tokens (the understanding sequence), patchified vision latents through proj_in
/// plus the timestep embedding on noisy frames (the generation sequence), 3-D mRoPE over the joint sequence
/// [text, vision], the mixture-of-transformers layers, norm / norm_moe_gen, and proj_out on the vision tokens.
/// Patchify/unpatchify (2×2 latent patches) and the choice of noisy frames stay in the pipeline, as packing does for
/// Qwen-Image; the model sees one sample (the pipeline runs conditional and unconditional passes separately, as
/// diffusers does: their text lengths differ).
/// Graph inputs: input_ids int64 [text_len]; hidden_states [vision_tokens, patch_latent_dim] (patchified latents,
/// frame-major); timestep [1] (the scheduler's t; timestep_scale is applied here); noisy_tokens [vision_tokens] (1 for
/// tokens of noisy frames, which get the timestep embedding, 0 for conditioning frames); position_ids [3, text_len +
/// vision_tokens] (float mRoPE positions). Output: sample [vision_tokens, patch_latent_dim] (every vision token; the
/// pipeline zeroes conditioning frames, as diffusers' unpatchify leaves them zero).
/// </summary>
public sealed partial class Cosmos3OmniTransformer
{
    readonly Cosmos3TransformerConfig _c;
    readonly Embedding _embedTokens;
    readonly Cosmos3VLTextMoTDecoderLayer[] _layers;
    readonly RmsNorm _normMoeGen;
    readonly Cosmos3RotaryEmbedding _rotaryEmb;
    readonly Linear _projIn, _projOut;
    readonly Timesteps _timeProj = new(256, flipSinToCos: true, downscaleFreqShift: 0);
    readonly TimestepEmbedding _timeEmbedder;

    public Cosmos3OmniTransformer(Weights w, Cosmos3TransformerConfig c)
    {
        _c = c;
        int dim = c.HiddenSize;
        _embedTokens = new Embedding(w.Sub("embed_tokens"), c.VocabSize, dim);
        _layers = Enumerable.Range(0, c.NumHiddenLayers).Select(i => new Cosmos3VLTextMoTDecoderLayer(w.Sub($"layers.{i}"), c)).ToArray();
        _normMoeGen = new RmsNorm(w.Sub("norm_moe_gen"), dim, c.RmsNormEps);
        _rotaryEmb = new Cosmos3RotaryEmbedding(c.HeadDim, c.RopeTheta, c.AxesDim);
        _projIn = new Linear(w.Sub("proj_in"), c.PatchLatentDim, dim);
        _projOut = new Linear(w.Sub("proj_out"), dim, c.PatchLatentDim);
        _timeEmbedder = new TimestepEmbedding(w.Sub("time_embedder"), 256, dim);
    }

    public Tensor Forward(Tensor inputIds, Tensor hiddenStates, Tensor timestep, Tensor noisyTokens, Tensor positionIds)
    {
        var t = inputIds.Tracer;
        var (und, gen) = Streams(inputIds, hiddenStates, timestep, noisyTokens);
        var (undRope, genRope, causalMask) = Attention(inputIds.Size(0), positionIds);
        for (int i = 0; i < _layers.Length; i++)
            using (t.Scope($"layers.{i}"))
                (und, gen) = _layers[i].Forward(und, gen, undRope, genRope, causalMask);
        return Head(gen);
    }

    Tensor Temb(Tensor timestep) => _timeEmbedder.Forward(_timeProj.Forward(timestep * _c.TimestepScale));  // [1, hidden]

    /// <summary>The understanding stream (text tokens through embed_tokens) and the generation stream (patchified latents
    /// through proj_in, plus the timestep embedding on noisy frames' tokens), [1, tokens, hidden] each.</summary>
    (Tensor Und, Tensor Gen) Streams(Tensor inputIds, Tensor hiddenStates, Tensor timestep, Tensor noisyTokens)
    {
        var und = _embedTokens.Forward(inputIds).Unsqueeze(0);
        var gen = (_projIn.Forward(hiddenStates) + noisyTokens.Unsqueeze(1) * Temb(timestep)).Unsqueeze(0);
        return (und, gen);
    }

    /// <summary>The mRoPE tables of each stream over the joint sequence [text, vision], and the causal text mask.</summary>
    ((Tensor, Tensor) Und, (Tensor, Tensor) Gen, Tensor Mask) Attention(Dim textLen, Tensor positionIds)
    {
        var (cos, sin) = _rotaryEmb.Forward(positionIds);
        return ((cos.Slice(1, 0L, textLen), sin.Slice(1, 0L, textLen)),
                (cos.Slice(1, textLen, long.MaxValue), sin.Slice(1, textLen, long.MaxValue)),
                AttentionMasks.Causal(positionIds.Tracer, textLen));
    }

    // norm(und) only feeds the language-model head; the vision prediction reads the generation tokens
    Tensor Head(Tensor gen) => _projOut.Forward(_normMoeGen.Forward(gen)).Squeeze(0);

    /// <summary>Traces the transformer of a checkpoint component folder into a graph (its linears quantized under
    /// <paramref name="quantization"/>).</summary>
    public static Graph.Graph Trace(string componentDir, ITensorSource weights, QuantizedLinears? quantization = null)
    {
        string configPath = Path.Combine(componentDir, "config.json");
        var config = ComponentConfig.FromFile(configPath).ToRecord<Cosmos3TransformerConfig>();
        config.Validate(configPath);
        var tracer = new Tracer("cosmos3_transformer");
        var w = new Weights(tracer, weights, componentDir, quantization);
        var model = new Cosmos3OmniTransformer(w, config);
        // the understanding pathway's final norm and lm_head serve text generation only: checked present, not traced
        w.Read("norm.weight");
        w.CheckAllUsed("lm_head.");
        var ids = tracer.Input("input_ids", TensorDType.I64, "text_len");
        var hs = tracer.Input("hidden_states", TensorDType.F32, "vision_tokens", config.PatchLatentDim.ToString());
        var ts = tracer.Input("timestep", TensorDType.F32, "1");
        var noisy = tracer.Input("noisy_tokens", TensorDType.F32, "vision_tokens");
        var pos = tracer.Input("position_ids", TensorDType.F32, "3", "sequence");
        var outT = model.Forward(ids, hs, ts, noisy, pos);
        tracer.Output(outT, "sample", "vision_tokens", config.PatchLatentDim.ToString());
        tracer.Graph.Metadata["visualgen.class"] = "Cosmos3OmniTransformer";
        // the mRoPE positions are read when an engine plans a shape (the native CUDA engine folds the rotary tables)
        tracer.Graph.Metadata[Engines.GraphMetadata.PlanTimeInputs] = "position_ids";
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }
}
