using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Checkpoints;

/// <summary>Reads the wan21_t2v diffusers checkpoint; tensor values are checked against an independent
/// stream read of the file (header parsed here, bytes read at its offsets), shapes against the config.</summary>
public sealed class ConformanceCheckpointTests
{
    static string Checkpoint => Fixtures.Checkpoint("wan21_t2v");

    [ConformanceFact]
    public void ModelIndexOfWan21()
    {
        var index = ModelIndex.Load(Checkpoint);
        Assert.Equal("WanPipeline", index.ClassName);
        Assert.Equal(new ModelComponent("transformer", "diffusers", "WanTransformer3DModel"), index.Components["transformer"]);
        Assert.Equal(new ModelComponent("text_encoder", "transformers", "UMT5EncoderModel"), index.Components["text_encoder"]);
        Assert.Equal(new ModelComponent("scheduler", "diffusers", "UniPCMultistepScheduler"), index.Components["scheduler"]);
        Assert.False(index.HasComponent("transformer_2"));
        Assert.Null(index.Fields.GetOptionalDouble("boundary_ratio"));
        Assert.False(index.Fields.GetBool("expand_timesteps"));
        Assert.False(index.Components.ContainsKey("expand_timesteps"));
        Assert.Equal(3.0, index.LoadConfig("scheduler").GetDouble("flow_shift"));
        Assert.Equal("flow_prediction", index.LoadConfig("scheduler").GetString("prediction_type"));
    }

    [ConformanceFact]
    public void TransformerConfigAndWeights()
    {
        var index = ModelIndex.Load(Checkpoint);
        var config = index.LoadConfig("transformer");
        Assert.Equal("WanTransformer3DModel", config.ClassName);
        int layers = config.GetInt("num_layers"), heads = config.GetInt("num_attention_heads"), headDim = config.GetInt("attention_head_dim");
        int inChannels = config.GetInt("in_channels");
        int[] patch = config.GetIntArray("patch_size");
        Assert.Equal(2, layers);
        Assert.Equal([1, 2, 2], patch);
        Assert.Equal(1e-6, config.GetDouble("eps"));
        Assert.Equal("rms_norm_across_heads", config.GetString("qk_norm"));
        Assert.Null(config.GetOptionalInt("image_dim"));

        using var weights = index.OpenWeights("transformer");
        var info = weights.Info("patch_embedding.weight");
        Assert.Equal([heads * headDim, inChannels, patch[0], patch[1], patch[2]], info.Shape);
        Assert.Equal(TensorDType.F32, info.DType);
        for (int i = 0; i < layers; i++) Assert.Contains($"blocks.{i}.scale_shift_table", weights.Names);
        Assert.DoesNotContain($"blocks.{layers}.scale_shift_table", weights.Names);

        string file = Path.Combine(Checkpoint, "transformer", "diffusion_pytorch_model.safetensors");
        foreach (var name in new[] { "patch_embedding.weight", "blocks.1.scale_shift_table", "scale_shift_table" })
            Assert.Equal(StreamRead(file, name), weights.ReadFloat32(name));
    }

    [ConformanceFact]
    public void EveryComponentWithWeightsOpens()
    {
        var index = ModelIndex.Load(Checkpoint);
        foreach (var name in new[] { "transformer", "vae", "text_encoder" })
        {
            using var w = index.OpenWeights(name);
            Assert.NotEmpty(w.Names);
            Assert.All(w.Names, n => Assert.True(w.Info(n).ByteLength == w.GetBytes(n).Length));
        }
    }

    // Independent of SafeTensorsFile: read the header with a stream and the tensor's bytes at its offsets.
    static float[] StreamRead(string file, string name)
    {
        using var fs = File.OpenRead(file);
        var len = new byte[8];
        fs.ReadExactly(len);
        var header = new byte[BitConverter.ToInt64(len)];
        fs.ReadExactly(header);
        using var doc = JsonDocument.Parse(header);
        var entry = doc.RootElement.GetProperty(name);
        Assert.Equal("F32", entry.GetProperty("dtype").GetString());
        long begin = entry.GetProperty("data_offsets")[0].GetInt64(), end = entry.GetProperty("data_offsets")[1].GetInt64();
        var bytes = new byte[end - begin];
        fs.Position = 8 + header.Length + begin;
        fs.ReadExactly(bytes);
        var values = new float[bytes.Length / 4];
        for (int i = 0; i < values.Length; i++) values[i] = BitConverter.ToSingle(bytes, i * 4);
        return values;
    }
}
