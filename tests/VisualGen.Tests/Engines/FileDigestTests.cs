using System.Security.Cryptography;
using System.Text;
using VisualGen.Engines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Engines;

/// <summary><see cref="FileDigest"/> against its definition computed here in one stream: SHA-256 of the kind, the
/// length and the SHA-256 of each 64 MiB chunk.</summary>
public sealed class FileDigestTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-file-digest");

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>The digest by its definition, in one stream (an empty file is one empty chunk).</summary>
    internal static string Reference(byte[] bytes)
    {
        var digests = new List<byte>();
        int chunks = Math.Max(1, (bytes.Length + FileDigest.ChunkBytes - 1) / FileDigest.ChunkBytes);
        for (int c = 0; c < chunks; c++)
        {
            int start = c * FileDigest.ChunkBytes;
            digests.AddRange(SHA256.HashData(bytes.AsSpan(start, Math.Min(FileDigest.ChunkBytes, bytes.Length - start))));
        }
        var header = Encoding.UTF8.GetBytes($"{FileDigest.Kind}\n{bytes.Length}\n");
        return Convert.ToHexStringLower(SHA256.HashData([.. header, .. digests]));
    }

    string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void A_file_over_two_chunks_digests_as_its_definition_and_every_change_shows()
    {
        var bytes = new byte[2 * FileDigest.ChunkBytes + 12_345];
        new Random(3).NextBytes(bytes);
        string path = Write("big.bin", bytes);
        string digest = FileDigest.Of(path, out long read);
        Assert.Equal(bytes.Length, read);
        Assert.Equal(Reference(bytes), digest);

        bytes[FileDigest.ChunkBytes + 7] ^= 1;  // one bit in the second chunk
        Assert.NotEqual(digest, FileDigest.Of(Write("big.bin", bytes)));
        Assert.Equal(Reference(bytes), FileDigest.Of(path));
        Assert.NotEqual(FileDigest.Of(path), FileDigest.Of(Write("longer.bin", [.. bytes, 0])));  // one more zero byte
    }

    [Fact]
    public void Small_and_empty_files_digest_as_their_definition()
    {
        Assert.Equal(Reference([]), FileDigest.Of(Write("empty.bin", [])));
        var small = Encoding.UTF8.GetBytes("{\"a\": 1}");
        Assert.Equal(Reference(small), FileDigest.Of(Write("small.json", small)));
        Assert.NotEqual(FileDigest.Of(Write("a", [0])), FileDigest.Of(Write("b", [0, 0])));
    }
}
