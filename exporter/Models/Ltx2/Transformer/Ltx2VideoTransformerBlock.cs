using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Ltx2;

namespace VisualGen.Exporter.Models.Ltx2.Transformer;

/// <summary>
/// diffusers' LTX2VideoTransformerBlock: video and audio streams side by side, each with AdaLN-modulated
/// self-attention (RoPE), prompt cross-attention (optionally AdaLN-modulated query and key/value, LTX-2.3),
/// audio→video and video→audio cross-attention with temporal RoPE and their own modulation and gates, and an
/// AdaLN-modulated GELU-tanh feed-forward. Norms are RMSNorm without weights.
/// </summary>
public sealed class Ltx2VideoTransformerBlock
{
    readonly int _dim, _audioDim;
    readonly float _eps;
    readonly bool _videoCrossAttnAdaln, _audioCrossAttnAdaln;
    readonly Ltx2Attention _attn1, _audioAttn1, _attn2, _audioAttn2, _audioToVideoAttn, _videoToAudioAttn;
    readonly FeedForward _ff, _audioFf;
    readonly Tensor _scaleShiftTable, _audioScaleShiftTable, _videoA2vCrossAttnScaleShiftTable, _audioA2vCrossAttnScaleShiftTable;
    readonly Tensor? _promptScaleShiftTable, _audioPromptScaleShiftTable;

    public Ltx2VideoTransformerBlock(Weights w, Ltx2TransformerConfig c)
    {
        _dim = c.NumAttentionHeads * c.AttentionHeadDim;
        _audioDim = c.AudioNumAttentionHeads * c.AudioAttentionHeadDim;
        _eps = (float)c.NormEps;
        _videoCrossAttnAdaln = c.CrossAttnMod;
        _audioCrossAttnAdaln = c.AudioCrossAttnMod;
        Ltx2Attention Attention(string name, int queryDim, int heads, int headDim, int? context, bool gated) =>
            new(w.Sub(name), queryDim, heads, headDim, context, c.AttentionBias, c.AttentionOutBias, gated: gated);
        _attn1 = Attention("attn1", _dim, c.NumAttentionHeads, c.AttentionHeadDim, null, c.GatedAttn);
        _audioAttn1 = Attention("audio_attn1", _audioDim, c.AudioNumAttentionHeads, c.AudioAttentionHeadDim, null, c.AudioGatedAttn);
        _attn2 = Attention("attn2", _dim, c.NumAttentionHeads, c.AttentionHeadDim, c.CrossAttentionDim, c.GatedAttn);
        _audioAttn2 = Attention("audio_attn2", _audioDim, c.AudioNumAttentionHeads, c.AudioAttentionHeadDim, c.AudioCrossAttentionDim, c.AudioGatedAttn);
        _audioToVideoAttn = Attention("audio_to_video_attn", _dim, c.AudioNumAttentionHeads, c.AudioAttentionHeadDim, _audioDim, c.GatedAttn);
        _videoToAudioAttn = Attention("video_to_audio_attn", _audioDim, c.AudioNumAttentionHeads, c.AudioAttentionHeadDim, _dim, c.AudioGatedAttn);
        _ff = new FeedForward(w.Sub("ff"), _dim, 4 * _dim, _dim, tanhGelu: true);
        _audioFf = new FeedForward(w.Sub("audio_ff"), _audioDim, 4 * _audioDim, _audioDim, tanhGelu: true);
        _scaleShiftTable = w.Get("scale_shift_table", [c.CrossAttnMod ? 9 : 6, _dim]);
        _audioScaleShiftTable = w.Get("audio_scale_shift_table", [c.AudioCrossAttnMod ? 9 : 6, _audioDim]);
        if (c.CrossAttnMod || c.AudioCrossAttnMod)
        {
            _promptScaleShiftTable = w.Get("prompt_scale_shift_table", [2, _dim]);
            _audioPromptScaleShiftTable = w.Get("audio_prompt_scale_shift_table", [2, _audioDim]);
        }
        _videoA2vCrossAttnScaleShiftTable = w.Get("video_a2v_cross_attn_scale_shift_table", [5, _dim]);
        _audioA2vCrossAttnScaleShiftTable = w.Get("audio_a2v_cross_attn_scale_shift_table", [5, _audioDim]);
    }

    /// <summary>get_mod_params: table [K, D] (rows <paramref name="from"/>..) plus temb [B, 1, K·D] viewed [B, 1, K, D],
    /// unbound into K tensors [B, 1, D].</summary>
    static Tensor[] ModParams(Tensor table, int from, int count, int dim, Tensor temb)
    {
        Dim b = temb.Size(0);
        var values = table.Slice(0, from, from + count).Unsqueeze(0, 1) + temb.Reshape(b, 1, count, dim);
        return Enumerable.Range(0, count).Select(i => values.Slice(2, i, i + 1).Squeeze(2)).ToArray();
    }

    public sealed record Inputs(
        Tensor EncoderHiddenStates, Tensor AudioEncoderHiddenStates,
        Tensor Temb, Tensor TembAudio, Tensor TembCaScaleShift, Tensor TembCaAudioScaleShift, Tensor TembCaGate, Tensor TembCaAudioGate,
        Tensor? TembPrompt, Tensor? TembPromptAudio,
        Ltx2Attention.Rope VideoRotaryEmb, Ltx2Attention.Rope AudioRotaryEmb, Ltx2Attention.Rope CaVideoRotaryEmb, Ltx2Attention.Rope CaAudioRotaryEmb,
        Tensor? EncoderAttentionMask, Tensor? AudioEncoderAttentionMask, bool UseCrossModalAttention);

    /// <param name="perturbed">spatio-temporal guidance on this block (LTX2PerturbedAttnProcessor, every batch element
    /// perturbed): video and audio self-attention reduce to their value projections</param>
    public (Tensor Video, Tensor Audio) Forward(Tensor hiddenStates, Tensor audioHiddenStates, Inputs a, bool perturbed = false)
    {
        Tensor Norm(Tensor x, int dim) => x.RmsNorm(null, _eps, dim);

        // 1. Video and audio self-attention
        var v = ModParams(_scaleShiftTable, 0, _videoCrossAttnAdaln ? 9 : 6, _dim, a.Temb);
        var (shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp) = (v[0], v[1], v[2], v[3], v[4], v[5]);
        var norm = Norm(hiddenStates, _dim) * (1f + scaleMsa) + shiftMsa;
        hiddenStates = hiddenStates + _attn1.Forward(norm, queryRope: a.VideoRotaryEmb, valueOnly: perturbed) * gateMsa;

        var au = ModParams(_audioScaleShiftTable, 0, _audioCrossAttnAdaln ? 9 : 6, _audioDim, a.TembAudio);
        var (audioShiftMsa, audioScaleMsa, audioGateMsa, audioShiftMlp, audioScaleMlp, audioGateMlp) = (au[0], au[1], au[2], au[3], au[4], au[5]);
        var audioNorm = Norm(audioHiddenStates, _audioDim) * (1f + audioScaleMsa) + audioShiftMsa;
        audioHiddenStates = audioHiddenStates + _audioAttn1.Forward(audioNorm, queryRope: a.AudioRotaryEmb, valueOnly: perturbed) * audioGateMsa;

        // 2. Prompt cross-attention (Q: video or audio; K, V: text)
        var encoder = a.EncoderHiddenStates;
        var audioEncoder = a.AudioEncoderHiddenStates;
        if (_promptScaleShiftTable is not null && _audioPromptScaleShiftTable is not null)
        {
            Tensor[] TextKv(Tensor table, int dim, Tensor? temb) => temb is not null
                ? ModParams(table, 0, 2, dim, temb)
                : [table.Slice(0, 0, 1).Unsqueeze(0), table.Slice(0, 1, 2).Unsqueeze(0)];
            var kv = TextKv(_promptScaleShiftTable, _dim, a.TembPrompt);
            encoder = encoder * (1f + kv[1]) + kv[0];
            var audioKv = TextKv(_audioPromptScaleShiftTable, _audioDim, a.TembPromptAudio);
            audioEncoder = audioEncoder * (1f + audioKv[1]) + audioKv[0];
        }
        norm = Norm(hiddenStates, _dim);
        if (_videoCrossAttnAdaln) norm = norm * (1f + v[7]) + v[6];
        var attn = _attn2.Forward(norm, encoder, a.EncoderAttentionMask);
        if (_videoCrossAttnAdaln) attn = attn * v[8];
        hiddenStates = hiddenStates + attn;

        audioNorm = Norm(audioHiddenStates, _audioDim);
        if (_audioCrossAttnAdaln) audioNorm = audioNorm * (1f + au[7]) + au[6];
        var audioAttn = _audioAttn2.Forward(audioNorm, audioEncoder, a.AudioEncoderAttentionMask);
        if (_audioCrossAttnAdaln) audioAttn = audioAttn * au[8];
        audioHiddenStates = audioHiddenStates + audioAttn;

        // 3. Audio-to-video and video-to-audio cross-attention
        if (a.UseCrossModalAttention)
        {
            norm = Norm(hiddenStates, _dim);
            audioNorm = Norm(audioHiddenStates, _audioDim);
            var vca = ModParams(_videoA2vCrossAttnScaleShiftTable, 0, 4, _dim, a.TembCaScaleShift);
            var a2vGate = ModParams(_videoA2vCrossAttnScaleShiftTable, 4, 1, _dim, a.TembCaGate)[0];
            var aca = ModParams(_audioA2vCrossAttnScaleShiftTable, 0, 4, _audioDim, a.TembCaAudioScaleShift);
            var v2aGate = ModParams(_audioA2vCrossAttnScaleShiftTable, 4, 1, _audioDim, a.TembCaAudioGate)[0];
            var (videoA2vScale, videoA2vShift, videoV2aScale, videoV2aShift) = (vca[0], vca[1], vca[2], vca[3]);
            var (audioA2vScale, audioA2vShift, audioV2aScale, audioV2aShift) = (aca[0], aca[1], aca[2], aca[3]);

            var a2v = _audioToVideoAttn.Forward(norm * (1f + videoA2vScale) + videoA2vShift, audioNorm * (1f + audioA2vScale) + audioA2vShift,
                queryRope: a.CaVideoRotaryEmb, keyRope: a.CaAudioRotaryEmb);
            hiddenStates = hiddenStates + a2vGate * a2v;

            var v2a = _videoToAudioAttn.Forward(audioNorm * (1f + audioV2aScale) + audioV2aShift, norm * (1f + videoV2aScale) + videoV2aShift,
                queryRope: a.CaAudioRotaryEmb, keyRope: a.CaVideoRotaryEmb);
            audioHiddenStates = audioHiddenStates + v2aGate * v2a;
        }

        // 4. Feed-forward
        norm = Norm(hiddenStates, _dim) * (1f + scaleMlp) + shiftMlp;
        hiddenStates = hiddenStates + _ff.Forward(norm) * gateMlp;
        audioNorm = Norm(audioHiddenStates, _audioDim) * (1f + audioScaleMlp) + audioShiftMlp;
        audioHiddenStates = audioHiddenStates + _audioFf.Forward(audioNorm) * audioGateMlp;
        return (hiddenStates, audioHiddenStates);
    }
}
