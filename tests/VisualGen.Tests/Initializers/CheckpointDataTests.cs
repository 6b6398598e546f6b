using System.Runtime.InteropServices;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Initializers;

/// <summary>Checkpoint weights streamed into initializers: bf16 and f32, plain and transposed, in tensors larger than
/// one conversion chunk (so the chunked and banded paths run more than once), against a direct element loop.</summary>
public class CheckpointDataTests
{
    [Theory]
    [InlineData("BF16", 3000, 700, true)]    // bands of 349 columns: 349 + 349 + 2
    [InlineData("F32", 1100, 1000, true)]    // bands of 953 columns: 953 + 47
    [InlineData("BF16", 5, 3, true)]         // one band
    [InlineData("BF16", 1500, 1000, false)]  // two chunks of the plain conversion
    [InlineData("F32", 7, 9, false)]         // f32 as is
    public void Streams_the_tensor_converted_to_float32(string dtype, int rows, int cols, bool transpose)
    {
        var rng = new Random(rows * 31 + cols);
        var values = new float[rows * cols];
        byte[] bytes;
        if (dtype == "BF16")
        {
            var bits = new ushort[values.Length];
            for (int i = 0; i < bits.Length; i++)
            {
                bits[i] = (ushort)(BitConverter.SingleToUInt32Bits((float)(rng.NextDouble() * 4 - 2)) >> 16);
                values[i] = BitConverter.UInt32BitsToSingle((uint)bits[i] << 16);
            }
            bytes = MemoryMarshal.AsBytes(bits.AsSpan()).ToArray();
        }
        else
        {
            for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() * 4 - 2);
            bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        }
        string dir = Fixtures.TempDir("ckptdata");
        try
        {
            string path = Path.Combine(dir, "w.safetensors");
            SafeTensorsWriter.Write(path, [new TensorData("w", dtype == "BF16" ? TensorDType.BF16 : TensorDType.F32, [rows, cols], bytes)]);
            using var file = SafeTensorsFile.Open(path);
            var sink = new MemoryStream();
            new CheckpointData(file, "w", transpose).WriteTo(sink);

            var actual = MemoryMarshal.Cast<byte, float>(sink.ToArray().AsSpan()).ToArray();
            Assert.Equal(values.Length, actual.Length);
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                {
                    float got = transpose ? actual[c * rows + r] : actual[r * cols + c];
                    if (got != values[r * cols + c])
                        Assert.Fail($"element [{r}, {c}] of the {(transpose ? "transposed " : "")}{dtype} tensor: {got} != {values[r * cols + c]}");
                }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
