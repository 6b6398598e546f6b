using VisualGen.Tensors;

namespace VisualGen.Server.Media;

/// <summary>Turns pipeline output (float32 in [0, 1], diffusers' "np" layout) into files clients download, and uploads into input images.</summary>
public interface IMediaEncoder
{
    /// <summary>Writes frames [frames, height, width, 3] as an H.264 MP4 at <paramref name="path"/>, with
    /// <paramref name="soundtrack"/> (LTX-2's audio) as its AAC track when given.</summary>
    Task WriteMp4Async(HostTensor frames, int fps, string path, CancellationToken ct, VisualGen.Media.Soundtrack? soundtrack = null);

    /// <summary>Why MP4s cannot be written on this machine (no ffmpeg), or null when they can: video jobs are refused
    /// up front instead of failing after their generation.</summary>
    string? Mp4Unavailable { get; }

    /// <summary>Encodes one image [height, width, 3] as PNG.</summary>
    byte[] EncodePng(HostTensor image);

    /// <summary>Decodes an uploaded image (PNG; other formats through ffmpeg) to [height, width, 3] float32 in [0, 1]; a bad
    /// file throws VisualGen.Media.MediaException naming <paramref name="source"/>.</summary>
    HostTensor DecodeImage(ReadOnlySpan<byte> data, string source);
}
