using System.Text;

namespace VisualGen.Tests.Checkpoints;

/// <summary>Writes safetensors bytes by hand (any header, any data, any declared header length) to make malformed files.</summary>
static class RawSafeTensors
{
    public static string Write(string dir, string name, string header, int dataBytes, ulong? headerLength = null)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataBytes];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), headerLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        for (int i = 0; i < dataBytes; i++) bytes[8 + json.Length + i] = (byte)i;
        string path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
