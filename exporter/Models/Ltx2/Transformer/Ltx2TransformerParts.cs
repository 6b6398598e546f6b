using VisualGen.Exporter.Quantization;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Models.Shared;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Caching;
using VisualGen.Pipelines.Ltx2;

namespace VisualGen.Exporter.Models.Ltx2.Transformer;

/// <summary>
/// LTX2VideoTransformer3DModel in parts for step caches (<see cref="TransformerParts"/>), the main (CFG) call only: the
/// same modules as <see cref="Forward"/>, cut between blocks. The step caches see one tensor per batch row, so the two
/// streams travel flattened and joined, video first: <c>hidden</c> [B, N·inner + M·audio_inner]; the output part's
/// <c>sample</c> is [B, N·out + M·audio_out], the two predictions the same way (<see cref="Ltx2CacheLayout"/>). Each part
/// reads N and M from the coordinates it takes. The blocks parts of a call without use_cross_timestep end in
/// <c>_no_cross_timestep</c> (<see cref="Ltx2CacheLayout.BlocksPart"/>); the other parts do not depend on it.
/// </summary>
public sealed partial class Ltx2VideoTransformer3DModel
{
    static Tensor Join(Tensor video, Tensor audio) => Tensor.Concat(1, video.Flatten(1), audio.Flatten(1));

    static (Tensor Video, Tensor Audio) Split(Tensor joined, Dim videoTokens, int videoWidth, Dim audioTokens, int audioWidth)
    {
        Dim b = joined.Size(0), videoSize = videoTokens * videoWidth;
        return (joined.Slice(1, 0L, videoSize).Reshape(b, videoTokens, videoWidth),
                joined.Slice(1, videoSize, long.MaxValue).Reshape(b, audioTokens, audioWidth));
    }

    /// <summary>Traces one on-demand part of the main call, its linears quantized as
    /// <see cref="TransformerPartGraph.Weights"/> says.</summary>
    public static Graph.Graph TracePart(ComponentConfig config, string componentDir, ITensorSource weights, string part, QuantizedLinears? quantization = null)
    {
        var c = Ltx2TransformerConfig.From(config);
        if (!Ltx2CacheLayout.TryParsePart(part, out string basePart, out bool useCrossTimestep))
            throw new CheckpointException(componentDir, $"the LTX-2 transformer has no part '{part}'");
        var tracer = new Tracer("ltx2_transformer_" + part);
        var w = TransformerPartGraph.Weights(tracer, weights, componentDir, basePart, quantization);
        var model = new Ltx2VideoTransformer3DModel(w, c);
        w.CheckAllUsed();
        string caption = c.CaptionChannels.ToString();
        int inner = model._inner, audioInner = model._audioInner;
        Tensor Timestep() => tracer.Input(TimestepInput, TensorDType.F32, "batch");
        Tensor VideoCoords() => tracer.Input(VideoCoordsInput, TensorDType.F32, "batch", "3", "video_tokens", "2");
        Tensor AudioCoords() => tracer.Input(AudioCoordsInput, TensorDType.F32, "batch", "1", "audio_tokens", "2");
        Tensor Hidden() => tracer.Input("hidden", TensorDType.F32, "batch", "joined");
        if (basePart == TransformerParts.TimeEmbedding)
            // TeaCache's compared tensor: the video stream's embedded timestep
            tracer.Output(model._timeEmbed.Forward(Timestep()).Embedded, "temb", "batch", inner.ToString());
        else if (basePart == TransformerParts.Embed)
        {
            var hidden = tracer.Input(HiddenStatesInput, TensorDType.F32, "batch", "video_tokens", c.InChannels.ToString());
            var audioHidden = tracer.Input(AudioHiddenStatesInput, TensorDType.F32, "batch", "audio_tokens", c.AudioInChannels.ToString());
            tracer.Output(Join(model._projIn.Forward(hidden), model._audioProjIn.Forward(audioHidden)), "hidden", "batch", "joined");
        }
        else if (TransformerParts.TryParseBlocks(basePart, out int from, out int to))
        {
            TransformerPartGraph.CheckBlocks(componentDir, part, to, c.NumLayers, "num_layers");
            var joined = Hidden();
            var encoder = tracer.Input(EncoderHiddenStatesInput, TensorDType.F32, "batch", "text_length", caption);
            var audioEncoder = tracer.Input(AudioEncoderHiddenStatesInput, TensorDType.F32, "batch", "text_length", caption);
            var timestep = Timestep();
            var sigma = tracer.Input(SigmaInput, TensorDType.F32, "batch");
            var mask = tracer.Input(EncoderAttentionMaskInput, TensorDType.I64, "batch", "text_length");
            var audioMask = tracer.Input(AudioEncoderAttentionMaskInput, TensorDType.I64, "batch", "text_length");
            var videoCoords = VideoCoords();
            var audioCoords = AudioCoords();
            var (inputs, _) = model.Conditioning(encoder, audioEncoder, timestep, sigma, mask, audioMask, videoCoords, audioCoords, useCrossTimestep, false);
            var (video, audio) = Split(joined, videoCoords.Size(2), inner, audioCoords.Size(2), audioInner);
            (video, audio) = model.RunBlocks(video, audio, inputs, from, to);
            tracer.Output(Join(video, audio), "hidden_out", "batch", "joined");
        }
        else if (basePart == TransformerParts.Output)
        {
            var joined = Hidden();
            var timestep = Timestep();
            var (video, audio) = Split(joined, VideoCoords().Size(2), inner, AudioCoords().Size(2), audioInner);
            var (v, a) = model.Head(video, audio, model.EmbeddedTimesteps(timestep));
            tracer.Output(Join(v, a), SampleOutput, "batch", "joined_out");
        }
        else throw new CheckpointException(componentDir, $"the LTX-2 transformer has no part '{part}'");
        return TransformerPartGraph.Seal(tracer, "LTX2VideoTransformer3DModel", part);
    }
}
