using System.Buffers.Binary;

namespace VisualGen.Media;

/// <summary>
/// Writes audio as a RIFF/WAVE file of 32-bit IEEE float samples (format tag 3, with the "fact" chunk non-PCM WAVE
/// files carry), interleaved by channel: the vocoder's waveform exactly, without 16-bit rounding.
/// </summary>
public static class WavWriter
{
    const ushort IeeeFloat = 3;

    /// <summary>Writes planar <paramref name="channels"/> (each one channel's samples, all of one length) to
    /// <paramref name="path"/> through a temporary file renamed into place.</summary>
    public static void Write(string path, IReadOnlyList<float[]> channels, int sampleRate)
    {
        Check(channels, sampleRate);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = WritableLocation.TempBeside(path);
        try
        {
            using (var fs = File.Create(tmp)) Write(fs, channels, sampleRate);
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(tmp);
            throw new MediaException($"{path}: cannot write WAV: {e.Message}", e);
        }
    }

    public static void Write(Stream stream, IReadOnlyList<float[]> channels, int sampleRate)
    {
        Check(channels, sampleRate);
        int count = channels.Count, samples = channels[0].Length;
        long dataBytes = 4L * count * samples;
        if (dataBytes > uint.MaxValue - 64) throw new ArgumentException($"{samples} samples × {count} channels do not fit a WAV file (4 GiB)", nameof(channels));
        Span<byte> header = stackalloc byte[58];
        "RIFF"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)(50 + dataBytes));
        "WAVE"u8.CopyTo(header[8..]);
        "fmt "u8.CopyTo(header[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], 18);                   // fmt chunk size (with cbSize)
        BinaryPrimitives.WriteUInt16LittleEndian(header[20..], IeeeFloat);
        BinaryPrimitives.WriteUInt16LittleEndian(header[22..], (ushort)count);
        BinaryPrimitives.WriteUInt32LittleEndian(header[24..], (uint)sampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(header[28..], (uint)(sampleRate * 4 * count)); // bytes per second
        BinaryPrimitives.WriteUInt16LittleEndian(header[32..], (ushort)(4 * count));    // block align
        BinaryPrimitives.WriteUInt16LittleEndian(header[34..], 32);                      // bits per sample
        BinaryPrimitives.WriteUInt16LittleEndian(header[36..], 0);                       // cbSize
        "fact"u8.CopyTo(header[38..]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[42..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header[46..], (uint)samples);          // sample frames
        "data"u8.CopyTo(header[50..]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[54..], (uint)dataBytes);
        stream.Write(header);
        var frame = new byte[4 * count];
        for (int i = 0; i < samples; i++)
        {
            for (int c = 0; c < count; c++) BinaryPrimitives.WriteSingleLittleEndian(frame.AsSpan(4 * c), channels[c][i]);
            stream.Write(frame);
        }
    }

    static void Check(IReadOnlyList<float[]> channels, int sampleRate)
    {
        ArgumentNullException.ThrowIfNull(channels);
        if (channels.Count is < 1 or > 64) throw new ArgumentException($"a WAV file holds 1 to 64 channels, not {channels.Count}", nameof(channels));
        if (sampleRate <= 0) throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "the sample rate must be positive");
        for (int c = 1; c < channels.Count; c++)
            if (channels[c].Length != channels[0].Length)
                throw new ArgumentException($"channel {c} has {channels[c].Length} samples, channel 0 has {channels[0].Length}", nameof(channels));
    }
}
