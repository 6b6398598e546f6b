using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Ltx2;

namespace VisualGen.Exporter.Models.Ltx2.Connectors;

/// <summary>
/// diffusers' LTX2TextConnectors (LTX-2.0 form: one shared text_proj_in), traced as one graph:
/// <list type="bullet">
/// <item>inputs <c>text_encoder_hidden_states</c> [batch, L, caption_channels·text_proj_in_factor] (every Gemma
/// layer's states stacked on the last axis, channel-major) and <c>attention_mask</c> [batch, L] int64 (left padded);</item>
/// <item>per-layer masked mean/range normalization (×8), text_proj_in, the video and audio connector transformers
/// with the additive mask (0 / −float.MaxValue);</item>
/// <item>outputs <c>video_text_embedding</c> (times the connector's binary mask), <c>audio_text_embedding</c>
/// [batch, L, caption_channels] and <c>attention_mask_out</c> [batch, L] int64 (mask &lt; 1e−6 of the video
/// connector's mask, as diffusers derives it).</item>
/// </list>
/// </summary>
public sealed class Ltx2TextConnectors
{
    public const string HiddenStatesInput = "text_encoder_hidden_states", MaskInput = "attention_mask";
    public const string VideoOutput = "video_text_embedding", AudioOutput = "audio_text_embedding", MaskOutput = "attention_mask_out";

    /// <summary>The pipeline's scale_factor of the masked mean/range normalization.</summary>
    public const float NormScaleFactor = 8f;

    readonly Ltx2ConnectorsConfig _c;
    readonly Linear _textProjIn;
    readonly Ltx2ConnectorTransformer1d _video, _audio;

    public Ltx2TextConnectors(Weights w, Ltx2ConnectorsConfig c)
    {
        _c = c;
        _textProjIn = new Linear(w.Sub("text_proj_in"), c.CaptionChannels * c.TextProjInFactor, c.CaptionChannels, c.ProjBias);
        _video = new Ltx2ConnectorTransformer1d(w.Sub("video_connector"), c, c.VideoConnectorNumAttentionHeads, c.VideoConnectorAttentionHeadDim,
            c.VideoConnectorNumLayers, c.VideoConnectorNumLearnableRegisters, c.VideoGatedAttn);
        _audio = new Ltx2ConnectorTransformer1d(w.Sub("audio_connector"), c, c.AudioConnectorNumAttentionHeads, c.AudioConnectorAttentionHeadDim,
            c.AudioConnectorNumLayers, c.AudioConnectorNumLearnableRegisters, c.AudioGatedAttn);
    }

    /// <summary>diffusers' per_layer_masked_mean_norm for left padding: per batch and layer, (x − masked mean) /
    /// (masked max − masked min + 1e−6) · 8, flattened, padding zeroed.</summary>
    Tensor PerLayerMaskedMeanNorm(Tensor states, Tensor attentionMask)
    {
        const float eps = 1e-6f;
        var t = states.Tracer;
        Dim b = states.Size(0), length = states.Size(1);
        var x = states.Reshape(b, length, _c.CaptionChannels, _c.TextProjInFactor);
        var sequenceLengths = attentionMask.ReduceSum([1]);                               // [B, 1]
        var positions = Tensor.Arange(t, length).Unsqueeze(0);                             // [1, L]
        var valid = t.Op("GreaterOrEqual", [positions, length.AsTensor(states) - sequenceLengths], null, TensorDType.Bool); // [B, L]
        var valid4 = valid.Unsqueeze(2, 3);
        var zero = t.Scalar(0f);
        var masked = x.Where(valid4, zero);
        var numValid = (sequenceLengths * t.Int64Vector(_c.CaptionChannels)).Cast(TensorDType.F32).Unsqueeze(2, 3) + eps; // [B, 1, 1, 1]
        var mean = masked.ReduceSum([1, 2]) / numValid;
        var min = -(-x.Where(valid4, t.Scalar(float.PositiveInfinity))).ReduceMax([1, 2]);
        var max = x.Where(valid4, t.Scalar(float.NegativeInfinity)).ReduceMax([1, 2]);
        var normalized = (x - mean) / (max - min + eps) * NormScaleFactor;
        return normalized.Reshape(b, length, _c.CaptionChannels * _c.TextProjInFactor).Where(valid.Unsqueeze(2), zero);
    }

    public (Tensor Video, Tensor Audio, Tensor Mask) Forward(Tensor states, Tensor attentionMask)
    {
        var t = states.Tracer;
        Dim b = states.Size(0), length = states.Size(1);
        var projected = _textProjIn.Forward(PerLayerMaskedMeanNorm(states, attentionMask));
        var additive = ((attentionMask - t.Int64Vector(1)).Cast(TensorDType.F32) * float.MaxValue).Reshape(b, 1, 1, length);
        Tensor video, videoMask, audio;
        using (t.Scope("video_connector")) (video, videoMask) = _video.Forward(projected, additive);
        var binary = t.Op("Less", [videoMask, t.Scalar(1e-6f)], null, TensorDType.Bool).Cast(TensorDType.I64).Reshape(b, length, 1);
        video = video * binary.Cast(TensorDType.F32);
        using (t.Scope("audio_connector")) (audio, _) = _audio.Forward(projected, additive);
        return (video, audio, binary.Reshape(b, length));
    }

    public static Graph.Graph Trace(string componentDir, ITensorSource weights) =>
        Trace(ComponentConfig.FromFile(Path.Combine(componentDir, "config.json")), componentDir, weights);

    /// <summary>Traces from a config already read (a folder's or one mapped from a monolithic file); <paramref name="componentDir"/> names the weights' origin in errors.</summary>
    public static Graph.Graph Trace(ComponentConfig config, string componentDir, ITensorSource weights)
    {
        var c = Ltx2ConnectorsConfig.From(config);
        var tracer = new Tracer("ltx2_text_connectors");
        var w = new Weights(tracer, weights, componentDir);
        var states = tracer.Input(HiddenStatesInput, TensorDType.F32, "batch", "text_length", (c.CaptionChannels * c.TextProjInFactor).ToString());
        var mask = tracer.Input(MaskInput, TensorDType.I64, "batch", "text_length");
        var model = new Ltx2TextConnectors(w, c);
        var (video, audio, maskOut) = model.Forward(states, mask);
        w.CheckAllUsed();
        tracer.Output(video, VideoOutput, "batch", "text_length", c.CaptionChannels.ToString());
        tracer.Output(audio, AudioOutput, "batch", "text_length", c.CaptionChannels.ToString());
        tracer.Output(maskOut, MaskOutput, "batch", "text_length");
        tracer.Graph.Metadata["visualgen.class"] = "LTX2TextConnectors";
        // the mask is read when an engine plans a shape: the connectors' register padding and output mask (comparisons,
        // maxima over the text) fold there like constants on the native CUDA engine
        tracer.Graph.Metadata[Engines.GraphMetadata.PlanTimeInputs] = MaskInput;
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }
}
