using VisualGen.Exporter.Quantization;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Ltx2;

namespace VisualGen.Exporter.Models.Ltx2.Transformer;

/// <summary>
/// diffusers' LTX2VideoTransformer3DModel, traced as one graph of both streams:
/// <list type="bullet">
/// <item>inputs <c>hidden_states</c> [B, N, in_channels] and <c>audio_hidden_states</c> [B, M, audio_in_channels]
/// (packed latents), <c>encoder_hidden_states</c> / <c>audio_encoder_hidden_states</c> [B, L, caption_channels]
/// (the connectors' outputs), <c>timestep</c> and <c>sigma</c> [B] (one per batch element; the audio stream uses
/// the same, as LTX2Pipeline calls it), <c>encoder_attention_mask</c> / <c>audio_encoder_attention_mask</c> [B, L]
/// int64 (1 = token), <c>video_coords</c> [B, 3, N, 2] and <c>audio_coords</c> [B, 1, M, 2] (the RoPE patch
/// boundaries the pipeline prepares);</item>
/// <item>outputs <c>sample</c> [B, N, out_channels] and <c>audio_sample</c> [B, M, audio_out_channels].</item>
/// </list>
/// <c>use_cross_timestep</c>, <c>isolate_modalities</c> (no audio↔video attention, LTX2Pipeline's modality-guidance
/// call) and <c>spatio_temporal_guidance_blocks</c> (its STG call, perturbation_mask None: every batch element
/// perturbed) are fixed at trace time, one graph per call kind; as in diffusers, the STG blocks change nothing unless
/// the checkpoint has perturbed_attn.
/// </summary>
public sealed partial class Ltx2VideoTransformer3DModel
{
    public const string HiddenStatesInput = "hidden_states", AudioHiddenStatesInput = "audio_hidden_states";
    public const string EncoderHiddenStatesInput = "encoder_hidden_states", AudioEncoderHiddenStatesInput = "audio_encoder_hidden_states";
    public const string TimestepInput = "timestep", SigmaInput = "sigma";
    public const string EncoderAttentionMaskInput = "encoder_attention_mask", AudioEncoderAttentionMaskInput = "audio_encoder_attention_mask";
    public const string VideoCoordsInput = "video_coords", AudioCoordsInput = "audio_coords";
    public const string SampleOutput = "sample", AudioSampleOutput = "audio_sample";

    readonly Ltx2TransformerConfig _c;
    readonly int _inner, _audioInner;
    readonly Linear _projIn, _audioProjIn, _projOut, _audioProjOut;
    readonly PixArtAlphaTextProjection? _captionProjection, _audioCaptionProjection;
    readonly Ltx2AdaLayerNormSingle _timeEmbed, _audioTimeEmbed, _avCrossAttnVideoScaleShift, _avCrossAttnAudioScaleShift,
        _avCrossAttnVideoA2vGate, _avCrossAttnAudioV2aGate;
    readonly Ltx2AdaLayerNormSingle? _promptAdaln, _audioPromptAdaln;
    readonly Tensor _scaleShiftTable, _audioScaleShiftTable;
    readonly Ltx2AudioVideoRotaryPosEmbed _rope, _audioRope, _crossAttnRope, _crossAttnAudioRope;
    readonly Ltx2VideoTransformerBlock[] _blocks;

    public Ltx2VideoTransformer3DModel(Weights w, Ltx2TransformerConfig c)
    {
        _c = c;
        _inner = c.NumAttentionHeads * c.AttentionHeadDim;
        _audioInner = c.AudioNumAttentionHeads * c.AudioAttentionHeadDim;
        _projIn = new Linear(w.Sub("proj_in"), c.InChannels, _inner);
        _audioProjIn = new Linear(w.Sub("audio_proj_in"), c.AudioInChannels, _audioInner);
        if (c.UsePromptEmbeddings)
        {
            _captionProjection = new PixArtAlphaTextProjection(w.Sub("caption_projection"), c.CaptionChannels, _inner);
            _audioCaptionProjection = new PixArtAlphaTextProjection(w.Sub("audio_caption_projection"), c.CaptionChannels, _audioInner);
        }
        _timeEmbed = new Ltx2AdaLayerNormSingle(w.Sub("time_embed"), _inner, c.CrossAttnMod ? 9 : 6);
        _audioTimeEmbed = new Ltx2AdaLayerNormSingle(w.Sub("audio_time_embed"), _audioInner, c.AudioCrossAttnMod ? 9 : 6);
        _avCrossAttnVideoScaleShift = new Ltx2AdaLayerNormSingle(w.Sub("av_cross_attn_video_scale_shift"), _inner, 4);
        _avCrossAttnAudioScaleShift = new Ltx2AdaLayerNormSingle(w.Sub("av_cross_attn_audio_scale_shift"), _audioInner, 4);
        _avCrossAttnVideoA2vGate = new Ltx2AdaLayerNormSingle(w.Sub("av_cross_attn_video_a2v_gate"), _inner, 1);
        _avCrossAttnAudioV2aGate = new Ltx2AdaLayerNormSingle(w.Sub("av_cross_attn_audio_v2a_gate"), _audioInner, 1);
        _scaleShiftTable = w.Get("scale_shift_table", [2, _inner]);
        _audioScaleShiftTable = w.Get("audio_scale_shift_table", [2, _audioInner]);
        if ((c.CrossAttnMod || c.AudioCrossAttnMod) && c.UsePromptAdalnSingle)
        {
            _promptAdaln = new Ltx2AdaLayerNormSingle(w.Sub("prompt_adaln"), _inner, 2);
            _audioPromptAdaln = new Ltx2AdaLayerNormSingle(w.Sub("audio_prompt_adaln"), _audioInner, 2);
        }
        float crossMaxPos = Math.Max(c.PosEmbedMaxPos, c.AudioPosEmbedMaxPos);
        _rope = new Ltx2AudioVideoRotaryPosEmbed(_inner, c.NumAttentionHeads, [c.PosEmbedMaxPos, c.BaseHeight, c.BaseWidth], c.RopeTheta, c.RopeDoublePrecision);
        _audioRope = new Ltx2AudioVideoRotaryPosEmbed(_audioInner, c.AudioNumAttentionHeads, [c.AudioPosEmbedMaxPos], c.RopeTheta, c.RopeDoublePrecision);
        _crossAttnRope = new Ltx2AudioVideoRotaryPosEmbed(c.AudioCrossAttentionDim, c.NumAttentionHeads, [crossMaxPos], c.RopeTheta, c.RopeDoublePrecision);
        _crossAttnAudioRope = new Ltx2AudioVideoRotaryPosEmbed(c.AudioCrossAttentionDim, c.AudioNumAttentionHeads, [crossMaxPos], c.RopeTheta, c.RopeDoublePrecision);
        _blocks = Enumerable.Range(0, c.NumLayers).Select(i => new Ltx2VideoTransformerBlock(w.Sub($"transformer_blocks.{i}"), c)).ToArray();
        _projOut = new Linear(w.Sub("proj_out"), _inner, c.OutChannels ?? c.InChannels);
        _audioProjOut = new Linear(w.Sub("audio_proj_out"), _audioInner, c.AudioOutChannels ?? c.AudioInChannels);
    }

    /// <summary>A 2-D int64 mask [B, L] as diffusers turns it additive: (1 − mask)·−10000, viewed [B, 1, 1, L].</summary>
    static Tensor AdditiveMask(Tensor mask)
    {
        Dim b = mask.Size(0), length = mask.Size(1);
        return ((1f - mask.Cast(TensorDType.F32)) * -10000f).Reshape(b, 1, 1, length);
    }

    public (Tensor Video, Tensor Audio) Forward(Tensor hiddenStates, Tensor audioHiddenStates, Tensor encoderHiddenStates,
        Tensor audioEncoderHiddenStates, Tensor timestep, Tensor sigma, Tensor encoderAttentionMask, Tensor audioEncoderAttentionMask,
        Tensor videoCoords, Tensor audioCoords, bool useCrossTimestep, bool isolateModalities = false, IReadOnlyCollection<int>? spatioTemporalGuidanceBlocks = null)
    {
        var (inputs, embedded) = Conditioning(encoderHiddenStates, audioEncoderHiddenStates, timestep, sigma, encoderAttentionMask, audioEncoderAttentionMask,
            videoCoords, audioCoords, useCrossTimestep, isolateModalities);
        // 2. Input projections
        var (video, audio) = (_projIn.Forward(hiddenStates), _audioProjIn.Forward(audioHiddenStates));
        (video, audio) = RunBlocks(video, audio, inputs, 0, _blocks.Length, spatioTemporalGuidanceBlocks);
        return Head(video, audio, embedded);
    }

    /// <summary>Everything the blocks take besides the two streams: RoPE (step 1), the timestep modulations (3) and the
    /// prompt embeddings (4), from the call's conditioning inputs; and the embedded timesteps the output head takes.</summary>
    (Ltx2VideoTransformerBlock.Inputs Blocks, (Tensor Video, Tensor Audio) Embedded) Conditioning(Tensor encoderHiddenStates, Tensor audioEncoderHiddenStates, Tensor timestep, Tensor sigma,
        Tensor encoderAttentionMask, Tensor audioEncoderAttentionMask, Tensor videoCoords, Tensor audioCoords, bool useCrossTimestep, bool isolateModalities)
    {
        Dim b = timestep.Size(0);
        // the audio stream takes the video's timestep and sigma (audio_timestep / audio_sigma not given)
        var audioTimestep = timestep;
        var audioSigma = sigma;
        var encoderMask = AdditiveMask(encoderAttentionMask);
        var audioEncoderMask = AdditiveMask(audioEncoderAttentionMask);

        // 1. RoPE from the patch boundaries; the cross-modal ones from the temporal axis alone
        var videoRotaryEmb = _rope.Forward(videoCoords);
        var audioRotaryEmb = _audioRope.Forward(audioCoords);
        var videoCrossAttnRotaryEmb = _crossAttnRope.Forward(videoCoords.Slice(1, 0, 1));
        var audioCrossAttnRotaryEmb = _crossAttnAudioRope.Forward(audioCoords.Slice(1, 0, 1));

        // 3. Timestep embeddings and modulation: [B] → [B, 1, K·D]
        Tensor PerBatch(Tensor x, int width) => x.Reshape(b, 1, width);
        var (temb, embeddedTimestep) = _timeEmbed.Forward(timestep);
        temb = PerBatch(temb, (_c.CrossAttnMod ? 9 : 6) * _inner);
        var (tembAudio, audioEmbeddedTimestep) = _audioTimeEmbed.Forward(audioTimestep);
        tembAudio = PerBatch(tembAudio, (_c.AudioCrossAttnMod ? 9 : 6) * _audioInner);

        Tensor? tembPrompt = null, tembPromptAudio = null;
        if (_promptAdaln is not null && _audioPromptAdaln is not null)
        {
            tembPrompt = PerBatch(_promptAdaln.Forward(sigma).Modulation, 2 * _inner);
            tembPromptAudio = PerBatch(_audioPromptAdaln.Forward(audioSigma).Modulation, 2 * _audioInner);
        }

        float gateScaleFactor = (float)(_c.CrossAttnTimestepScaleMultiplier / _c.TimestepScaleMultiplier);
        var videoCaTimestep = useCrossTimestep ? audioSigma : timestep;
        var videoCrossAttnScaleShift = PerBatch(_avCrossAttnVideoScaleShift.Forward(videoCaTimestep).Modulation, 4 * _inner);
        var videoCrossAttnA2vGate = PerBatch(_avCrossAttnVideoA2vGate.Forward(videoCaTimestep * gateScaleFactor).Modulation, _inner);
        var audioCaTimestep = useCrossTimestep ? sigma : audioTimestep;
        var audioCrossAttnScaleShift = PerBatch(_avCrossAttnAudioScaleShift.Forward(audioCaTimestep).Modulation, 4 * _audioInner);
        var audioCrossAttnV2aGate = PerBatch(_avCrossAttnAudioV2aGate.Forward(audioCaTimestep * gateScaleFactor).Modulation, _audioInner);

        // 4. Prompt embeddings
        if (_captionProjection is not null && _audioCaptionProjection is not null)
        {
            encoderHiddenStates = _captionProjection.Forward(encoderHiddenStates);
            audioEncoderHiddenStates = _audioCaptionProjection.Forward(audioEncoderHiddenStates);
        }
        return (new Ltx2VideoTransformerBlock.Inputs(encoderHiddenStates, audioEncoderHiddenStates,
            temb, tembAudio, videoCrossAttnScaleShift, audioCrossAttnScaleShift, videoCrossAttnA2vGate, audioCrossAttnV2aGate,
            tembPrompt, tembPromptAudio, videoRotaryEmb, audioRotaryEmb, videoCrossAttnRotaryEmb, audioCrossAttnRotaryEmb,
            encoderMask, audioEncoderMask, UseCrossModalAttention: !isolateModalities),
            (embeddedTimestep, audioEmbeddedTimestep));
    }

    /// <summary>The embedded timesteps [B, D] of both streams (the audio stream takes the video's timestep).</summary>
    (Tensor Video, Tensor Audio) EmbeddedTimesteps(Tensor timestep) =>
        (_timeEmbed.Forward(timestep).Embedded, _audioTimeEmbed.Forward(timestep).Embedded);

    /// <summary>5. Blocks <paramref name="from"/>..<paramref name="to"/>-1 on both streams (the STG blocks' self-attention
    /// perturbed where the checkpoint has perturbed_attn).</summary>
    (Tensor Video, Tensor Audio) RunBlocks(Tensor video, Tensor audio, Ltx2VideoTransformerBlock.Inputs inputs, int from, int to,
        IReadOnlyCollection<int>? spatioTemporalGuidanceBlocks = null)
    {
        var t = video.Tracer;
        for (int i = from; i < to; i++)
        {
            bool perturbed = _c.PerturbedAttn && spatioTemporalGuidanceBlocks is not null && spatioTemporalGuidanceBlocks.Contains(i);
            using (t.Scope($"transformer_blocks.{i}")) (video, audio) = _blocks[i].Forward(video, audio, inputs, perturbed);
        }
        return (video, audio);
    }

    /// <summary>6. Output norm, modulation (scale_shift_table + embedded timestep [B, D]) and projection of both streams.</summary>
    (Tensor Video, Tensor Audio) Head(Tensor video, Tensor audio, (Tensor Video, Tensor Audio) embedded)
    {
        Dim b = video.Size(0);
        var embeddedTimestep = embedded.Video.Reshape(b, 1, _inner);
        var audioEmbeddedTimestep = embedded.Audio.Reshape(b, 1, _audioInner);
        Tensor Output(Tensor x, Tensor table, Tensor embedded, int dim, Linear proj)
        {
            var shift = table.Slice(0, 0, 1).Unsqueeze(0) + embedded;
            var scale = table.Slice(0, 1, 2).Unsqueeze(0) + embedded;
            return proj.Forward(x.LayerNorm(null, null, 1e-6f, dim) * (1f + scale) + shift);
        }
        return (Output(video, _scaleShiftTable, embeddedTimestep, _inner, _projOut),
            Output(audio, _audioScaleShiftTable, audioEmbeddedTimestep, _audioInner, _audioProjOut));
    }

    public static Graph.Graph Trace(string componentDir, ITensorSource weights, bool useCrossTimestep = true, bool isolateModalities = false,
        IReadOnlyCollection<int>? spatioTemporalGuidanceBlocks = null, QuantizedLinears? quantization = null) =>
        Trace(ComponentConfig.FromFile(Path.Combine(componentDir, "config.json")), componentDir, weights, useCrossTimestep, isolateModalities,
            spatioTemporalGuidanceBlocks, quantization);

    /// <summary>Traces from a config already read (a folder's or one mapped from a monolithic file); <paramref name="componentDir"/> names the weights' origin in errors.
    /// The linears are quantized under <paramref name="quantization"/>.</summary>
    public static Graph.Graph Trace(ComponentConfig config, string componentDir, ITensorSource weights, bool useCrossTimestep = true, bool isolateModalities = false,
        IReadOnlyCollection<int>? spatioTemporalGuidanceBlocks = null, QuantizedLinears? quantization = null)
    {
        var c = Ltx2TransformerConfig.From(config);
        if (spatioTemporalGuidanceBlocks?.FirstOrDefault(i => i < 0 || i >= c.NumLayers, -1) is int bad and not -1)
            throw new ArgumentOutOfRangeException(nameof(spatioTemporalGuidanceBlocks), $"block {bad} is not one of the {c.NumLayers} transformer blocks");
        var tracer = new Tracer("ltx2_transformer");
        var w = new Weights(tracer, weights, componentDir, quantization);
        string caption = c.CaptionChannels.ToString();
        var hidden = tracer.Input(HiddenStatesInput, TensorDType.F32, "batch", "video_tokens", c.InChannels.ToString());
        var audioHidden = tracer.Input(AudioHiddenStatesInput, TensorDType.F32, "batch", "audio_tokens", c.AudioInChannels.ToString());
        var encoder = tracer.Input(EncoderHiddenStatesInput, TensorDType.F32, "batch", "text_length", caption);
        var audioEncoder = tracer.Input(AudioEncoderHiddenStatesInput, TensorDType.F32, "batch", "text_length", caption);
        var timestep = tracer.Input(TimestepInput, TensorDType.F32, "batch");
        var sigma = tracer.Input(SigmaInput, TensorDType.F32, "batch");
        var mask = tracer.Input(EncoderAttentionMaskInput, TensorDType.I64, "batch", "text_length");
        var audioMask = tracer.Input(AudioEncoderAttentionMaskInput, TensorDType.I64, "batch", "text_length");
        var videoCoords = tracer.Input(VideoCoordsInput, TensorDType.F32, "batch", "3", "video_tokens", "2");
        var audioCoords = tracer.Input(AudioCoordsInput, TensorDType.F32, "batch", "1", "audio_tokens", "2");
        var model = new Ltx2VideoTransformer3DModel(w, c);
        var (video, audio) = model.Forward(hidden, audioHidden, encoder, audioEncoder, timestep, sigma, mask, audioMask, videoCoords, audioCoords, useCrossTimestep,
            isolateModalities, spatioTemporalGuidanceBlocks);
        w.CheckAllUsed();
        tracer.Output(video, SampleOutput, "batch", "video_tokens", (c.OutChannels ?? c.InChannels).ToString());
        tracer.Output(audio, AudioSampleOutput, "batch", "audio_tokens", (c.AudioOutChannels ?? c.AudioInChannels).ToString());
        tracer.Graph.Metadata["visualgen.class"] = "LTX2VideoTransformer3DModel";
        tracer.Graph.Metadata["visualgen.use_cross_timestep"] = useCrossTimestep ? "true" : "false";
        tracer.Graph.Metadata["visualgen.isolate_modalities"] = isolateModalities ? "true" : "false";
        tracer.Graph.Metadata["visualgen.spatio_temporal_guidance_blocks"] = string.Join(",", spatioTemporalGuidanceBlocks ?? []);
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }
}
