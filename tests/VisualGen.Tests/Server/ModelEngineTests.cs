using System.Text.Json;
using VisualGen.Server.Api;
using VisualGen.Server.Hosting;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>/v1/models' <c>engine</c>: how the server runs each model (engine, attention, quantization, VAE, step
/// cache), after defaults, as the loader set the pipeline up from the command line and --config; never a path.</summary>
public sealed class ModelEngineTests
{
    /// <summary>The server's options from a command line (as the process parses it) on the tiny Wan checkpoint, with the
    /// shared engine cache and a fresh data folder.</summary>
    static ServerOptions Parse(string checkpoint, params string[] args) => ServerOptions.Parse(
        ["--model", checkpoint, "--engine-cache", ConformancePipelines.CacheDir, "--data", Fixtures.TempDir("vg-server-engine"), .. args], _ => null);

    static string Config(string yaml)
    {
        string path = Path.Combine(Fixtures.TempDir("vg-server-engine-config"), "visualgen.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>The engine of the one model, from /v1/models and /v1/models/{id} (asserted equal); the raw text of both
    /// answers checked for paths.</summary>
    static async Task<JsonElement> EngineAsync(LiveServer server, string id)
    {
        var (s1, list) = await server.GetJsonAsync("/v1/models");
        Assert.Equal(200, s1);
        var (s2, one) = await server.GetJsonAsync($"/v1/models/{id}");
        Assert.Equal(200, s2);
        var listed = Assert.Single(list.GetProperty("data").EnumerateArray());
        Assert.Equal(id, listed.GetProperty("id").GetString());
        Assert.Equal(listed.GetProperty("engine").GetRawText(), one.GetProperty("engine").GetRawText());
        foreach (var text in new[] { list.GetRawText(), one.GetRawText() })
        {
            Assert.DoesNotContain(server.Options.ModelDir!, text);
            Assert.DoesNotContain(ConformancePipelines.CacheDir, text);
            Assert.DoesNotContain(server.Options.DataDir, text);
        }
        return one.GetProperty("engine");
    }

    [ConformanceFact]
    public async Task Default_server_reports_ort_cpu_with_nothing_configured()
    {
        await using var server = await WanServer.StartAsync(Parse(WanServer.Checkpoint));
        var engine = await EngineAsync(server, WanServer.ModelId);
        Assert.Equal("ort-cpu", engine.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, engine.GetProperty("attention").ValueKind);   // ONNX Runtime's: not configurable
        Assert.Equal(JsonValueKind.Null, engine.GetProperty("quantization").ValueKind);
        Assert.Equal("fp32", engine.GetProperty("vae_dtype").GetString());
        Assert.False(engine.GetProperty("vae_tiling").GetBoolean());
        Assert.Equal(JsonValueKind.Null, engine.GetProperty("gpu_memory_gib").ValueKind);
        Assert.Equal(JsonValueKind.Null, engine.GetProperty("step_cache").ValueKind);
        // the fields clients had are unchanged
        var (_, model) = await server.GetJsonAsync($"/v1/models/{WanServer.ModelId}");
        Assert.Equal("model", model.GetProperty("object").GetString());
        Assert.Equal("wan", model.GetProperty("family").GetString());
        Assert.True(model.GetProperty("produces_video").GetBoolean());
    }

    [ConformanceFact]
    public async Task Configured_cache_dit_and_vae_tiling_are_reported_with_defaults_applied_and_are_what_requests_get()
    {
        // Fn/Bn and the threshold from the file; max_warmup_steps and max_cached_steps left to cache-dit's defaults
        string config = Config("cache_config:\n  cache_backend: cache_dit\n  Fn_compute_blocks: 1\n  Bn_compute_blocks: 1\n  residual_diff_threshold: 0.12\nvae_tiling: true\n");
        await using var server = await WanServer.StartAsync(Parse(WanServer.Checkpoint, "--config", config));
        var engine = await EngineAsync(server, WanServer.ModelId);
        Assert.Equal("ort-cpu", engine.GetProperty("name").GetString());
        Assert.True(engine.GetProperty("vae_tiling").GetBoolean());
        var cache = engine.GetProperty("step_cache");
        Assert.Equal("cache_dit", cache.GetProperty("method").GetString());
        Assert.Equal(1, cache.GetProperty("fn").GetInt32());
        Assert.Equal(1, cache.GetProperty("bn").GetInt32());
        Assert.Equal(0.12, cache.GetProperty("threshold").GetDouble());
        Assert.Equal(8, cache.GetProperty("warmup").GetInt32());
        Assert.Equal(JsonValueKind.Null, cache.GetProperty("max_cached_steps").ValueKind);
        Assert.False(cache.TryGetProperty("coefficients", out _));
        Assert.Equal(JsonValueKind.Null, engine.GetProperty("quantization").ValueKind);

        // a request that sets no step cache runs the one reported
        var (status, images) = await server.PostJsonAsync("/v1/images/generations",
            new { prompt = "a lighthouse", size = "48x32", num_inference_steps = 2, response_format = "b64_json" });
        Assert.Equal(200, status);
        Assert.Equal("cache_dit", images.GetProperty("data")[0].GetProperty("step_cache").GetProperty("method").GetString());
    }

    [ConformanceFact]
    public async Task Dynamic_quantization_and_a_teacache_default_are_reported()
    {
        string config = Config("cache_config:\n  cache_backend: teacache\n  teacache_thresh: 0.15\n");
        await using var server = await WanServer.StartAsync(Parse(WanServer.Checkpoint, "--config", config,
            "--quant-algo", "NVFP4", "--quant-ignore", "patch_embedding,proj_out"));
        var engine = await EngineAsync(server, WanServer.ModelId);
        var q = engine.GetProperty("quantization");
        Assert.Equal("NVFP4", q.GetProperty("algo").GetString());
        Assert.True(q.GetProperty("dynamic").GetBoolean());
        Assert.Equal(["patch_embedding", "proj_out"], q.GetProperty("ignore").EnumerateArray().Select(p => p.GetString()!));
        var cache = engine.GetProperty("step_cache");
        Assert.Equal("teacache", cache.GetProperty("method").GetString());
        Assert.Equal(0.15, cache.GetProperty("threshold").GetDouble());
        Assert.Equal(JsonValueKind.Null, cache.GetProperty("coefficients").ValueKind);  // the family's table
        Assert.False(engine.GetProperty("vae_tiling").GetBoolean());
    }

    [ConformanceFact]
    public async Task A_quantized_checkpoint_reports_its_stored_quantization()
    {
        await using var server = await WanServer.StartAsync(Parse(Fixtures.Checkpoint("wan21_t2v_fp8"), "--model-name", "wan-fp8"));
        var q = (await EngineAsync(server, "wan-fp8")).GetProperty("quantization");
        Assert.Equal("FP8", q.GetProperty("algo").GetString());
        Assert.False(q.GetProperty("dynamic").GetBoolean());
        Assert.Equal(["patch_embedding", "condition_embedder.time_embedder*", "condition_embedder.text_embedder*"],
            q.GetProperty("ignore").EnumerateArray().Select(p => p.GetString()!));
    }

    [ConformanceFact]
    public void Native_cuda_settings_are_read_from_the_provider_s_backends()
    {
        // no GPU needed: the provider's backends are made, not started, and nothing is built
        using (var engines = VisualGen.Exporter.Commands.Runtime.CreateEngineProvider(ConformancePipelines.CacheDir, "native-cuda", null,
                   attentionFlag: "sage", gpuMemoryBudget: 3L << 29, vaeDtypeFlag: "bf16"))
        {
            var s = EngineSettings.Of(engines, WanServer.Checkpoint, null);
            Assert.Equal(("native-cuda", "sage:16x64", "bf16", 1.5), (s.Name, s.Attention, s.VaeDtype, s.GpuMemoryGib));
            Assert.Null(s.StepCache);
        }
        using (var engines = VisualGen.Exporter.Commands.Runtime.CreateEngineProvider(ConformancePipelines.CacheDir, "native-cuda", null, attentionFlag: "fp8"))
        {
            var s = EngineSettings.Of(engines, WanServer.Checkpoint, null);
            Assert.Equal(("native-cuda", "fp8", "fp32", (double?)null), (s.Name, s.Attention, s.VaeDtype, s.GpuMemoryGib));
        }
        using (var engines = VisualGen.Exporter.Commands.Runtime.CreateEngineProvider(ConformancePipelines.CacheDir, "native-cuda", null, attentionFlag: "sage:32x128"))
            Assert.Equal("sage:32x128", EngineSettings.Of(engines, WanServer.Checkpoint, null).Attention);
        using (var engines = VisualGen.Exporter.Commands.Runtime.CreateEngineProvider(ConformancePipelines.CacheDir, "ort-cuda", null))
        {
            var s = EngineSettings.Of(engines, WanServer.Checkpoint, null);
            Assert.Equal(("ort-cuda", (string?)null, "fp32"), (s.Name, s.Attention, s.VaeDtype));
        }
    }
}
