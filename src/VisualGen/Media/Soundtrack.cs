using VisualGen.Pipelines;

namespace VisualGen.Media;

/// <summary>One video's waveform: one float array per channel (values in about [−1, 1]) at <see cref="SampleRate"/> Hz.</summary>
public sealed record Soundtrack(float[][] Channels, int SampleRate)
{
    /// <summary>Batch element <paramref name="batchIndex"/>'s soundtrack of a result whose audio is [batch, channels, samples];
    /// null when the model made none.</summary>
    public static Soundtrack? Of(GenerationResult result, int batchIndex = 0)
    {
        if (result.Audio is not { } audio) return null;
        if (audio.Rank != 3) throw new MediaException($"audio is {audio.ShapeText}, expected [batch, channels, samples]");
        if (result.AudioSampleRate < 1) throw new MediaException($"audio sample rate {result.AudioSampleRate} is not positive");
        int channels = (int)audio.Shape[1], samples = (int)audio.Shape[2];
        var data = audio.Floats;
        return new Soundtrack(Enumerable.Range(0, channels)
            .Select(c => data.AsSpan((batchIndex * channels + c) * samples, samples).ToArray()).ToArray(), result.AudioSampleRate);
    }

    /// <summary>Writes it as a 16-bit PCM WAV file.</summary>
    public void WriteWav(string path) => WavWriter.Write(path, Channels, SampleRate);
}
