using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Pipelines.Ltx2;

namespace VisualGen.Exporter.Models.Ltx2.Vocoder;

/// <summary>
/// diffusers' LTX2Vocoder (pipelines/ltx2/vocoder.py; HiFi-GAN style, leaky ReLU): the mel spectrogram
/// [batch, channels, frames, mel_bins] as [batch, channels·mel_bins, frames], conv_in, then per upsample layer a leaky
/// ReLU, a transposed conv and the mean of its resblocks; leaky ReLU (slope 0.01), conv_out, tanh (or clamp).
/// Graph: input <c>mel</c> → output <c>waveform</c> [batch, out_channels, frames · Π upsample_factors].
/// </summary>
public sealed class Ltx2Vocoder
{
    public const string MelInput = "mel", WaveformOutput = "waveform";

    readonly Ltx2VocoderConfig _c;
    readonly Conv1d _convIn, _convOut;
    readonly (Tensor Weight, Tensor Bias)[] _upsamplers;
    readonly Ltx2VocoderResBlock[][] _resnets;

    public Ltx2Vocoder(Weights w, Ltx2VocoderConfig c)
    {
        _c = c;
        _convIn = new Conv1d(w.Sub("conv_in"), c.InChannels, c.HiddenChannels, 7);
        int channels = c.HiddenChannels;
        int perUpsample = c.ResnetKernelSizes.Length;
        _upsamplers = new (Tensor, Tensor)[c.UpsampleFactors.Length];
        _resnets = new Ltx2VocoderResBlock[c.UpsampleFactors.Length][];
        for (int i = 0; i < c.UpsampleFactors.Length; i++)
        {
            int output = channels / 2;
            var up = w.Sub($"upsamplers.{i}");
            _upsamplers[i] = (up.Get("weight", [channels, output, c.UpsampleKernelSizes[i]]), up.Get("bias", [output]));
            _resnets[i] = Enumerable.Range(0, perUpsample).Select(j => new Ltx2VocoderResBlock(w.Sub($"resnets.{i * perUpsample + j}"),
                output, c.ResnetKernelSizes[j], c.ResnetDilations[j], c.LeakyReluNegativeSlope)).ToArray();
            channels = output;
        }
        _convOut = new Conv1d(w.Sub("conv_out"), channels, c.OutChannels, 7, bias: c.FinalBias);
    }

    public static Tensor LeakyRelu(Tensor x, float slope) => x.Tracer.Op("LeakyRelu", [x], new() { ["alpha"] = slope });

    public Tensor Forward(Tensor mel)
    {
        // [B, C, T, M] → [B, C·M, T]
        var x = mel.Transpose(0, 1, 3, 2);
        x = x.Reshape(x.Size(0), -1, x.Size(3));
        x = _convIn.Forward(x);
        for (int i = 0; i < _upsamplers.Length; i++)
        {
            x = LeakyRelu(x, _c.LeakyReluNegativeSlope);
            long stride = _c.UpsampleFactors[i], kernel = _c.UpsampleKernelSizes[i], pad = (kernel - stride) / 2;
            x = x.Tracer.Op("ConvTranspose", [x, _upsamplers[i].Weight, _upsamplers[i].Bias],
                new() { ["strides"] = new[] { stride }, ["pads"] = new[] { pad, pad }, ["kernel_shape"] = new[] { kernel } });
            Tensor? sum = null;
            foreach (var r in _resnets[i]) { var y = r.Forward(x); sum = sum is null ? y : sum + y; }
            x = sum! * (1f / _resnets[i].Length);
        }
        x = _convOut.Forward(LeakyRelu(x, 0.01f));
        return _c.FinalActFn switch
        {
            "tanh" => x.Tanh(),
            "clamp" => x.Max(x.Tracer.Scalar(-1f)).Min(x.Tracer.Scalar(1f)),
            _ => x,
        };
    }

    public static Graph.Graph Trace(string componentDir, ITensorSource weights) =>
        Trace(ComponentConfig.FromFile(Path.Combine(componentDir, "config.json")), componentDir, weights);

    /// <summary>Traces from a config already read (a folder's or one mapped from a monolithic file); <paramref name="componentDir"/> names the weights' origin in errors.</summary>
    public static Graph.Graph Trace(ComponentConfig config, string componentDir, ITensorSource weights)
    {
        var c = Ltx2VocoderConfig.From(config);
        var tracer = new Tracer("ltx2_vocoder");
        var w = new Weights(tracer, weights, componentDir);
        var mel = tracer.Input(MelInput, TensorDType.F32, "batch", "mel_channels", "mel_frames", "mel_bins");
        var model = new Ltx2Vocoder(w, c);
        var waveform = model.Forward(mel);
        w.CheckAllUsed();
        tracer.Output(waveform, WaveformOutput, "batch", c.OutChannels.ToString(), "samples");
        tracer.Graph.Metadata["visualgen.class"] = "LTX2Vocoder";
        tracer.Graph.Metadata["visualgen.exporter_version"] = ExporterInfo.Version;
        return tracer.Graph;
    }
}
