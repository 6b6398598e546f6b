using System.Text.Json;
using System.Text.Json.Nodes;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Export;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Ltx2;
using VisualGen.Pipelines.Ltx2.SingleFile;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>LTX-2 as Lightricks ships it: one monolithic safetensors file, detected by its header metadata. The
/// conformance fixture rebuilt as such a file (<see cref="Ltx2MonolithicFile"/>) must load to the same configs and
/// tensors and produce bit-identical components and pipeline outputs on ort-cpu; bad files are refused naming file
/// and problem.</summary>
public class Ltx2MonolithicFileTests
{
    static readonly string[] Weighted = ["transformer", "connectors", "vae", "audio_vae", "vocoder"];

    static readonly Lazy<string> Built = new(() => Ltx2MonolithicFile.Build(Fixtures.Checkpoint("ltx2")));

    static string Folder => Fixtures.Checkpoint("ltx2");

    static string Json(object record) => JsonSerializer.Serialize(record, record.GetType());

    [ConformanceFact]
    public void File_is_detected_as_ltx2_by_its_metadata()
    {
        var detected = ModelFamilies.CreateRegistry().Detect(Built.Value);
        Assert.Equal("LTX2Pipeline", detected.ClassName);
        Assert.Equal("ltx2", detected.Family);
        var index = detected.RequireIndex();
        Assert.True(index.IsSingleFile);
        Assert.Equal(Built.Value, index.FilePath);
        Assert.NotNull(index.InFile("transformer"));
        Assert.Null(index.InFile("text_encoder"));   // beside the file
    }

    [ConformanceFact]
    public void Configs_mapped_from_the_metadata_equal_the_folders()
    {
        var index = ModelIndex.Load(Built.Value);
        string Dir(string c) => Path.Combine(Folder, c);
        Assert.Equal(Json(Ltx2TransformerConfig.Read(Dir("transformer"))), Json(Ltx2TransformerConfig.From(index.LoadConfig("transformer"))));
        Assert.Equal(Json(Ltx2ConnectorsConfig.Read(Dir("connectors"))), Json(Ltx2ConnectorsConfig.From(index.LoadConfig("connectors"))));
        Assert.Equal(DecoderFields(Json(Ltx2VideoVaeConfig.Read(Dir("vae")))), DecoderFields(Json(Ltx2VideoVaeConfig.From(index.LoadConfig("vae")))));
        Assert.Equal(Json(Ltx2AudioVaeConfig.Read(Dir("audio_vae"))), Json(Ltx2AudioVaeConfig.From(index.LoadConfig("audio_vae"))));
        Assert.Equal(Json(Ltx2VocoderConfig.Read(Dir("vocoder"))), Json(Ltx2VocoderConfig.From(index.LoadConfig("vocoder"))));
        // the scheduler diffusers' conversion saves is the fixture's: the same schedule
        var fromFile = Ltx2Pipeline.Schedule(index.LoadConfig("scheduler"), 5 * 16 * 16, 3);
        var fromFolder = Ltx2Pipeline.Schedule(ModelIndex.Load(Folder).LoadConfig("scheduler"), 5 * 16 * 16, 3);
        Assert.Equal(fromFolder.Sigmas, fromFile.Sigmas);
        Assert.Equal(fromFolder.Timesteps, fromFile.Timesteps);
    }

    /// <summary>The video VAE's decoder fields (the encoder is not exported, so the mapping leaves its fields at the
    /// defaults and the fixture's encoder layout need not match).</summary>
    static string DecoderFields(string json)
    {
        var o = JsonNode.Parse(json)!.AsObject();
        foreach (var key in new[] { "BlockOutChannels", "SpatioTemporalScaling", "DownsampleType", "UpsampleType" }) o.Remove(key);
        return o.ToJsonString();
    }

    [ConformanceFact]
    public void Every_component_tensor_reads_the_same_bytes_through_the_renaming_view()
    {
        var index = ModelIndex.Load(Built.Value);
        foreach (var component in Weighted)
        {
            using var folder = ComponentWeights.Open(Path.Combine(Folder, component));
            using var view = index.OpenTensors(component);
            Assert.Equal(folder.Names.Order(StringComparer.Ordinal), view.Names.Order(StringComparer.Ordinal));
            foreach (var name in folder.Names)
            {
                Assert.Equal(folder.Info(name).DType, view.Info(name).DType);
                Assert.Equal(folder.Info(name).Shape, view.Info(name).Shape);
                Assert.True(folder.GetBytes(name).SequenceEqual(view.GetBytes(name)), $"{component}.{name}");
                // a view, not a copy: the bytes lie in the monolithic file
                Assert.True(view.TryLocate(name, out var at));
                Assert.Equal(Path.GetFullPath(Built.Value), at.Path);
            }
        }
    }

    [ConformanceFact]
    public void Decoders_and_vocoder_give_bit_identical_outputs_from_file_and_folder()
    {
        using var golden = Fixtures.Golden("ltx2");
        using var provider = ConformancePipelines.Provider();
        foreach (var (component, input, output, goldenName) in new[]
                 {
                     ("vae.decoder", "latents", "sample", "vae.decode.in.arg0"),
                     ("audio_vae.decoder", "latents", "mel", "audio_vae.decode.in.arg0"),
                     ("vocoder", "mel", "waveform", "vocoder.in.arg0"),
                 })
        {
            var inputs = new Dictionary<string, HostTensor> { [input] = HostTensor.FromSource(golden, goldenName) };
            var fromFolder = provider.GetEngine(Folder, component, null).Run(inputs)[output];
            var fromFile = provider.GetEngine(Built.Value, component, null).Run(inputs)[output];
            Assert.Equal(fromFolder.Shape, fromFile.Shape);
            Assert.Equal(fromFolder.Floats, fromFile.Floats);
        }
    }

    [ConformanceFact]
    public void Pipeline_from_the_monolithic_file_is_bit_identical_to_the_folder()
    {
        using var golden = Fixtures.Golden("ltx2");
        using var provider = ConformancePipelines.Provider();
        GenerationResult Run(string model)
        {
            // a request per run: the run may write into the latents it is given
            var request = ConformancePipelines.RequestFromGolden("ltx2", golden);
            using var pipeline = ModelFamilies.CreateRegistry().Create(model, provider);
            return pipeline.GenerateAsync(request).GetAwaiter().GetResult();
        }
        var folder = Run(Folder);
        var file = Run(Built.Value);
        Assert.Equal(folder.Latents.Floats, file.Latents.Floats);
        Assert.Equal(folder.Output.Floats, file.Output.Floats);
        Assert.Equal(folder.AudioLatents!.Floats, file.AudioLatents!.Floats);
        Assert.Equal(folder.Audio!.Floats, file.Audio!.Floats);
        Assert.Equal(folder.AudioSampleRate, file.AudioSampleRate);
        ConformancePipelines.AssertMatchesGolden("ltx2", file);
    }

    [ConformanceFact]
    public void The_library_and_the_server_take_the_file_as_the_model()
    {
        using var pipeline = VisualGen.VisualGenPipeline.Load(Built.Value,
            new VisualGen.VisualGenOptions { Engine = "ort-cpu", EngineCacheDirectory = ConformancePipelines.CacheDir });
        Assert.Equal("LTX2Pipeline", pipeline.Info.ClassName);
        Assert.Equal(Built.Value, VisualGen.Server.Hosting.ServerOptions.Parse(["--model", Built.Value], _ => null).ModelDir);
    }

    [ConformanceFact]
    public void A_folder_holding_the_file_asks_for_the_file()
    {
        string folder = Path.GetDirectoryName(Built.Value)!;
        var e = Assert.Throws<CheckpointException>(() => ModelFamilies.CreateRegistry().Detect(folder));
        Assert.Contains("model_index.json not found", e.Message);
        Assert.Contains($"pass one of them as the model ({Path.GetFileName(Built.Value)})", e.Message);
    }

    [ConformanceFact]
    public void A_missing_tensor_is_named_with_the_file()
    {
        string path = Ltx2MonolithicFile.Build(Folder, drop: "vocoder.conv_post.weight");
        var index = ModelIndex.Load(path);
        var exporter = ComponentExporterRegistry.CreateDefault().Get(index, "vocoder");
        using var weights = index.OpenTensors("vocoder");
        var e = Assert.Throws<CheckpointException>(() => exporter.Trace(new TraceContext(index, "vocoder", path, weights, "")));
        Assert.Contains(path, e.Message);
        Assert.Contains("conv_out.weight", e.Message);
    }

    [ConformanceFact]
    public void Unsupported_ltx_settings_are_refused_naming_the_key()
    {
        string path = Ltx2MonolithicFile.Build(Folder, edit: c => c["vocoder"]!["bwe"] = new JsonObject());
        var e = Assert.Throws<CheckpointException>(() => ModelIndex.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("config.vocoder.bwe", e.Message);
    }

    // ---- without ../shared: files written here ----

    static string WriteFile(Dictionary<string, string>? metadata, string name = "model.safetensors")
    {
        string path = Path.Combine(Fixtures.TempDir("ltx2-file"), name);
        SafeTensorsWriter.Write(path, [TensorData.Float32("vocoder.conv_pre.weight", [2, 2, 1], [1, 2, 3, 4])], metadata);
        return path;
    }

    [Fact]
    public void A_file_without_metadata_is_refused_naming_it()
    {
        string path = WriteFile(null);
        var e = Assert.Throws<CheckpointException>(() => ModelFamilies.CreateRegistry().Detect(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("the file has no metadata", e.Message);
        e = Assert.Throws<CheckpointException>(() => ModelIndex.Load(path));
        Assert.Contains("the file has no metadata", e.Message);
    }

    [Fact]
    public void A_file_of_an_unknown_model_is_refused_with_what_its_metadata_holds()
    {
        string path = WriteFile(new() { ["config"] = "{\"unet\": {}, \"vae\": {}}", ["format"] = "pt" });
        var e = Assert.Throws<CheckpointException>(() => ModelFamilies.CreateRegistry().Detect(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("metadata keys: config, format", e.Message);
        Assert.Contains("config sections: unet, vae", e.Message);
        Assert.Contains("LTX2Pipeline", e.Message);   // what it knows
    }

    [Fact]
    public void An_ltx2_file_without_the_gemma_folders_beside_it_says_where_it_looked()
    {
        string config = "{\"transformer\": {}, \"vae\": {}, \"audio_vae\": {}, \"vocoder\": {}}";
        string path = WriteFile(new() { ["config"] = config });
        var e = Assert.Throws<CheckpointException>(() => ModelFamilies.CreateRegistry().Detect(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(Path.Combine(Path.GetDirectoryName(path)!, "text_encoder"), e.Message);
    }

    [Fact]
    public void Key_rules_give_the_names_of_diffusers_conversion()
    {
        // LTX-2.0's VAE: four down blocks with downsamplers then the mid block; mid block then three up blocks
        string[] encoder = Ltx2VaeBlock.EncoderModules("f", Blocks(9));
        string[] decoder = Ltx2VaeBlock.DecoderModules("f", Blocks(7));
        var vae = Ltx2KeyRules.VideoVae(encoder, decoder);
        (string, string)? Map(string key) => Ltx2KeyRules.MapOne(key, vae);
        Assert.Equal(("transformer", "time_embed.linear.weight"), Map("model.diffusion_model.adaln_single.linear.weight"));
        Assert.Equal(("transformer", "audio_time_embed.emb.timestep_embedder.linear_1.bias"), Map("model.diffusion_model.audio_adaln_single.emb.timestep_embedder.linear_1.bias"));
        Assert.Equal(("transformer", "av_cross_attn_video_a2v_gate.linear.weight"), Map("model.diffusion_model.av_ca_a2v_gate_adaln_single.linear.weight"));
        Assert.Equal(("transformer", "audio_proj_in.weight"), Map("model.diffusion_model.audio_patchify_proj.weight"));
        Assert.Equal(("transformer", "transformer_blocks.3.audio_to_video_attn.norm_q.weight"), Map("model.diffusion_model.transformer_blocks.3.audio_to_video_attn.q_norm.weight"));
        Assert.Equal(("transformer", "transformer_blocks.0.video_a2v_cross_attn_scale_shift_table"), Map("model.diffusion_model.transformer_blocks.0.scale_shift_table_a2v_ca_video"));
        Assert.Equal(("connectors", "video_connector.transformer_blocks.1.attn1.norm_k.weight"), Map("model.diffusion_model.video_embeddings_connector.transformer_1d_blocks.1.attn1.k_norm.weight"));
        Assert.Equal(("connectors", "text_proj_in.weight"), Map("model.diffusion_model.text_embedding_projection.aggregate_embed.weight"));
        Assert.Equal(("connectors", "text_proj_in.weight"), Map("text_embedding_projection.aggregate_embed.weight"));
        // diffusers' LTX_2_0_VIDEO_VAE_RENAME_DICT, entry by entry
        Assert.Equal(("vae", "encoder.down_blocks.0.resnets.1.conv1.conv.weight"), Map("vae.encoder.down_blocks.0.res_blocks.1.conv1.conv.weight"));
        Assert.Equal(("vae", "encoder.down_blocks.1.downsamplers.0.conv.conv.weight"), Map("vae.encoder.down_blocks.3.conv.conv.weight"));
        Assert.Equal(("vae", "encoder.down_blocks.3.resnets.0.conv2.conv.bias"), Map("vae.encoder.down_blocks.6.res_blocks.0.conv2.conv.bias"));
        Assert.Equal(("vae", "encoder.mid_block.resnets.0.conv1.conv.weight"), Map("vae.encoder.down_blocks.8.res_blocks.0.conv1.conv.weight"));
        Assert.Equal(("vae", "decoder.mid_block.resnets.4.conv1.conv.weight"), Map("vae.decoder.up_blocks.0.res_blocks.4.conv1.conv.weight"));
        Assert.Equal(("vae", "decoder.up_blocks.0.upsamplers.0.conv.conv.weight"), Map("vae.decoder.up_blocks.1.conv.conv.weight"));
        Assert.Equal(("vae", "decoder.up_blocks.0.resnets.0.conv1.conv.weight"), Map("vae.decoder.up_blocks.2.res_blocks.0.conv1.conv.weight"));
        Assert.Equal(("vae", "decoder.up_blocks.2.upsamplers.0.conv.conv.bias"), Map("vae.decoder.up_blocks.5.conv.conv.bias"));
        Assert.Equal(("vae", "decoder.up_blocks.2.resnets.1.conv2.conv.weight"), Map("vae.decoder.up_blocks.6.res_blocks.1.conv2.conv.weight"));
        Assert.Equal(("vae", "latents_mean"), Map("vae.per_channel_statistics.mean-of-means"));
        Assert.Null(Map("vae.per_channel_statistics.mean-of-stds"));
        Assert.Null(Map("vae.per_channel_statistics.channel"));
        Assert.Equal(("audio_vae", "latents_std"), Map("audio_vae.per_channel_statistics.std-of-means"));
        Assert.Equal(("audio_vae", "decoder.mid.block_1.conv1.conv.weight"), Map("audio_vae.decoder.mid.block_1.conv1.conv.weight"));
        Assert.Equal(("vocoder", "upsamplers.2.weight"), Map("vocoder.ups.2.weight"));
        Assert.Equal(("vocoder", "resnets.4.convs1.0.bias"), Map("vocoder.resblocks.4.convs1.0.bias"));
        Assert.Equal(("vocoder", "conv_in.weight"), Map("vocoder.conv_pre.weight"));
        Assert.Null(Map("duration_head.mlp_hidden.weight"));
    }

    /// <summary>res_x, compress_all, res_x, ... (<paramref name="count"/> blocks, odd).</summary>
    static IReadOnlyList<Ltx2VaeBlock> Blocks(int count) =>
        [.. Enumerable.Range(0, count).Select(i => i % 2 == 0 ? new Ltx2VaeBlock("res_x", 2, 1, false, false) : new Ltx2VaeBlock("compress_all", 0, 2, true, false))];
}
