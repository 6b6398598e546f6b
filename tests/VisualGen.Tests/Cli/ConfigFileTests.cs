using VisualGen.Cli;
using VisualGen.Configuration;
using VisualGen.Engines.Cuda.Runtime;
using VisualGen.Server.Hosting;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>One configuration (issue 16, item 2): a YAML file shaped like TensorRT-LLM's VisualGenArgs, read strictly,
/// taken by the CLI, the server and the C# API, with flags over it.</summary>
public sealed class ConfigFileTests
{
    static string Write(string yaml) => ConfigFiles.Write(yaml);

    [Fact]
    public void A_folder_given_as_the_configuration_is_named_as_one()
    {
        // the CLI said "file not found", the server "Access to the path is denied"
        string folder = Fixtures.TempDir("config-folder");
        var run = CliRun.Of(["info", "--config", folder]);
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.Equal($"error: --config {folder}: is a folder; --config takes a YAML file", Assert.Single(run.ErrorLines));
        var e = Assert.Throws<ArgumentException>(() => VisualGen.Server.Hosting.ServerOptions.Parse(["--config", folder], _ => null));
        Assert.Equal($"--config {folder}: is a folder; --config takes a YAML file", e.Message);
    }

    [Fact]
    public void A_full_configuration_reads_every_section()
    {
        var c = VisualGenConfig.Parse("""
            engine: native-cuda
            engine_cache: /srv/engines
            gpu_memory: 40
            vae_dtype: bf16
            attention_config:
              backend: default
              quant_attention_config: {qk_dtype: fp8, v_dtype: fp8}
            parallel_config:
              cfg_size: 1
              ulysses_size: 1
            """, "a.yaml");
        Assert.Equal("native-cuda", c.Engine);
        Assert.Equal("/srv/engines", c.EngineCache);
        Assert.Equal(40, c.GpuMemoryGib);
        Assert.Equal("bf16", c.VaeDtype);
        Assert.Equal("fp8", c.Attention.Precision);
        var options = VisualGenOptions.FromConfig(c);
        Assert.Equal(AttentionPrecision.Fp8, options.Attention);
        Assert.Equal("bf16", options.VaeDtype);
        Assert.Equal(40L << 30, options.GpuMemoryBudget);
        Assert.Equal("/srv/engines", options.EngineCacheDirectory);
        // what info prints reads back to the same configuration
        Assert.Equal(c, VisualGenConfig.Parse(c.ToYaml(), "printed"));
        Assert.Equal(new VisualGenConfig(), VisualGenConfig.Parse("", "empty.yaml"));
    }

    [Theory]
    [InlineData("quant_attention_config: {qk_dtype: int8, v_dtype: fp8}")]
    [InlineData("quant_attention_config: {qk_dtype: int8, v_dtype: fp8, q_block_size: 16, k_block_size: 64, v_block_size: 0}")]
    public void The_sage_recipe_selects_sage_attention(string recipe)
    {
        var c = VisualGenConfig.Parse($"engine: native-cuda\nattention_config:\n  {recipe}\n", "a.yaml");
        Assert.Equal("sage", c.Attention.Precision);
        Assert.Equal(AttentionPrecision.Sage, VisualGenOptions.FromConfig(c).Attention);
        // what info prints (the recipe with its block sizes spelled out) reads back as Sage
        Assert.Contains("quant_attention_config: {qk_dtype: int8, v_dtype: fp8, q_block_size: 16, k_block_size: 64, v_block_size: 0}", c.ToYaml());
        Assert.Equal("sage", VisualGenConfig.Parse(c.ToYaml(), "printed").Attention.Precision);
    }

    [Theory]
    [InlineData("q_block_size: 32, k_block_size: 128", 32, 128, "sage:32x128")]
    [InlineData("q_block_size: 128", 128, 64, "sage:128x64")]
    [InlineData("k_block_size: 128", 16, 128, "sage:16x128")]
    public void Sage_block_sizes_set_the_scale_groups(string sizes, int query, int key, string flag)
    {
        var c = VisualGenConfig.Parse($"engine: native-cuda\nattention_config:\n  quant_attention_config: {{qk_dtype: int8, v_dtype: fp8, {sizes}}}\n", "a.yaml");
        Assert.Equal("sage", c.Attention.Precision);
        Assert.Equal(new VisualGen.Quantization.SageScaleBlocks(query, key), c.Attention.SageBlocks);
        Assert.Equal(flag, c.Attention.Flag);
        Assert.Equal(c.Attention, AttentionConfig.FromFlag(flag));
        var options = VisualGenOptions.FromConfig(c);
        Assert.Equal((AttentionPrecision.Sage, query, key), (options.Attention, options.SageBlocks.Query, options.SageBlocks.Key));
        Assert.Contains($"q_block_size: {query}, k_block_size: {key}, v_block_size: 0}}", c.ToYaml());
        Assert.Equal(c.Attention, VisualGenConfig.Parse(c.ToYaml(), "printed").Attention);
    }

    [Theory]
    [InlineData("attention_config:\n  backnd: default\n", "a.yaml: attention_config.backnd: unknown key (known here: backend, quant_attention_config, sparse_attention_config)")]
    [InlineData("engine: native-cuda\nquant_attention: fp8\n", "quant_attention: unknown key")]
    [InlineData("cache_config:\n  cache_backend: magcache\n", "cache_config.cache_backend: 'magcache' is not one of teacache, cache_dit")]
    [InlineData("cache_config:\n  cache_backend: cache_dit\n  enable_taylorseer: true\n", "cache_config.enable_taylorseer: not implemented")]
    [InlineData("cache_config:\n  cache_backend: teacache\n  Fn_compute_blocks: 2\n", "cache_config.Fn_compute_blocks: unknown key")]
    [InlineData("quant_config:\n  quant_algo: FP4\n", "unknown quant_algo 'FP4' (known: FP8, FP8_BLOCK_SCALES, NVFP4)")]
    [InlineData("quant_config:\n  quant_algo: FP8\n  dynamic: false\n", "quant_config.dynamic: false describes a pre-quantized (static) checkpoint")]
    [InlineData("quant_config:\n  ignore: [proj_out]\n", "quant_config.quant_algo: missing")]
    [InlineData("parallel_config:\n  ulysses_size: 2\n", "parallel_config.ulysses_size: 2 GPUs: multi-GPU parallelism is not implemented")]
    [InlineData("engine: native-cuda\nattention_config:\n  quant_attention_config: {qk_dtype: int8, v_dtype: fp8, q_block_size: 1, k_block_size: 4, v_block_size: 1}\n",
        "the recipe qk_dtype int8, v_dtype fp8, blocks (1, 4, 1) is not implemented")]
    [InlineData("attention_config:\n  quant_attention_config: {qk_dtype: fp8}\n", "runs on the native CUDA engine; set engine: native-cuda")]
    [InlineData("attention_config:\n  quant_attention_config: {qk_dtype: int8, v_dtype: fp8}\n", "(Sage INT8/FP8 attention) runs on the native CUDA engine; set engine: native-cuda")]
    [InlineData("engine: native-cuda\nattention_config:\n  quant_attention_config: {qk_dtype: int8, v_dtype: fp8, k_block_size: 32}\n",
        "the recipe qk_dtype int8, v_dtype fp8, blocks (0, 32, 0) is not implemented")]
    [InlineData("engine: native-cuda\nattention_config:\n  quant_attention_config: {qk_dtype: int8, v_dtype: fp8, q_block_size: 48}\n",
        "the recipe qk_dtype int8, v_dtype fp8, blocks (48, 0, 0) is not implemented")]
    [InlineData("engine: native-cuda\nattention_config:\n  quant_attention_config: {qk_dtype: int8, v_dtype: fp8, v_block_size: 64}\n",
        "or Sage-style qk_dtype int8 (q_block_size 16, 32, 64, 128; k_block_size 64, 128; 0 for 16 and 64), v_dtype fp8 per channel (v_block_size 0)")]
    [InlineData("vae_dtype: bf16\n", "vae_dtype: bf16 runs on the native CUDA engine; set engine: native-cuda (it is ort-cpu, the default)")]
    [InlineData("engine: native-cuda\nvae_dtype: fp16\n", "vae_dtype: 'fp16' is not one of fp32, bf16")]
    [InlineData("engine: tpu\n", "engine: 'tpu' is not one of ort-cpu, ort-cuda, native-cuda")]
    [InlineData("gpu_memory: lots\n", "gpu_memory: 'lots' is not a number")]
    [InlineData("engine_cache: ''\n", "engine_cache: empty; name a folder")]
    [InlineData("engine_cache: \" \"\n", "engine_cache: empty; name a folder")]
    [InlineData("engine: native-cuda\ngpu_memory: 1e400\n", "gpu_memory: '1e400' is not a finite number")]
    [InlineData("cache_config: {cache_backend: teacache, teacache_thresh: Infinity}\n", "cache_config.teacache_thresh: 'Infinity' is not a finite number")]
    [InlineData("cache_config: {cache_backend: cache_dit, residual_diff_threshold: 1e999}\n", "cache_config.residual_diff_threshold: '1e999' is not a finite number")]
    [InlineData("cache_config: {cache_backend: teacache, coefficients: [1, NaN]}\n", "cache_config.coefficients[1] is not a finite number")]
    [InlineData("attention_config: fp8\n", "attention_config must be a mapping")]
    [InlineData("- engine\n", "the document root must be a mapping")]
    [InlineData("engine: [a\n", "not valid YAML")]
    [InlineData("cuda_graph_config:\n  enable: true\n", "cuda_graph_config: the native engine always captures")]
    public void Mistakes_are_refused_naming_the_key(string yaml, string message)
    {
        var e = Assert.Throws<ConfigException>(() => VisualGenConfig.Parse(yaml, "a.yaml"));
        Assert.Contains(message, e.Message);
        Assert.StartsWith("a.yaml: ", e.Message);
    }

    [ConformanceFact]
    public void Info_prints_the_file_merged_with_the_flags_and_a_flag_wins()
    {
        string config = Write("engine: native-cuda\ngpu_memory: 12\nattention_config:\n  quant_attention_config: {qk_dtype: fp8, v_dtype: fp8}\n");
        var run = CliRun.Of(["info", "--model", Fixtures.Checkpoint("wan21_t2v"), "--config", config, "--gpu-memory", "20"]);
        Assert.Equal(ExitCode.Success, run.Rc);
        Assert.Contains("  engine: native-cuda", run.Out);
        Assert.Contains("  gpu_memory: 20", run.Out);
        Assert.Contains("quant_attention_config: {qk_dtype: fp8", run.Out);

        // the file's GPU memory budget cannot go with the flags' ort-cpu (it holds no GPU memory): refused, as generate refuses it
        var budgeted = CliRun.Of(["info", "--model", Fixtures.Checkpoint("wan21_t2v"), "--config", config, "--engine", "ort-cpu", "--attention", "bf16"]);
        Assert.Equal(ExitCode.Usage, budgeted.Rc);
        Assert.Contains("--gpu-memory bounds the GPU memory the engines hold", Assert.Single(budgeted.ErrorLines));
        string unbudgeted = Write("engine: native-cuda\nattention_config:\n  quant_attention_config: {qk_dtype: fp8, v_dtype: fp8}\n");
        var plain = CliRun.Of(["info", "--model", Fixtures.Checkpoint("wan21_t2v"), "--config", unbudgeted, "--engine", "ort-cpu", "--attention", "bf16"]);
        Assert.Equal(ExitCode.Success, plain.Rc);
        Assert.Contains("  engine: ort-cpu", plain.Out);
        Assert.DoesNotContain("quant_attention_config", plain.Out);

        var sage = CliRun.Of(["info", "--model", Fixtures.Checkpoint("wan21_t2v"), "--config", config, "--attention", "sage:64x128"]);
        Assert.Equal(ExitCode.Success, sage.Rc);
        Assert.Contains("quant_attention_config: {qk_dtype: int8, v_dtype: fp8, q_block_size: 64, k_block_size: 128, v_block_size: 0}", sage.Out);
        var bad = CliRun.Of(["info", "--model", Fixtures.Checkpoint("wan21_t2v"), "--config", config, "--attention", "sage:64x32"]);
        Assert.Equal(ExitCode.Usage, bad.Rc);
        Assert.Contains("--attention sage:64x32: Sage attention's key block size (tokens per K scale) must be one of 64, 128; got 32", bad.Err);
    }

    [ConformanceFact]
    public void A_native_only_setting_in_the_file_takes_the_engine_from_the_flags()
    {
        // a shared file with the native engine's settings, the engine chosen per host on the command line
        string config = Write("vae_dtype: bf16\nattention_config:\n  quant_attention_config: {qk_dtype: fp8, v_dtype: fp8}\n");
        var run = CliRun.Of(["info", "--model", Fixtures.Checkpoint("wan21_t2v"), "--config", config, "--engine", "native-cuda"]);
        Assert.True(run.Rc == ExitCode.Success, run.Err);
        Assert.Contains("  engine: native-cuda", run.Out);
        Assert.Contains("  vae_dtype: bf16", run.Out);
        Assert.Contains("quant_attention_config: {qk_dtype: fp8", run.Out);
        var o = ServerOptions.Parse(["--config", config, "--engine", "native-cuda"], _ => null);
        Assert.Equal(("native-cuda", "bf16", "fp8"), (o.Engine, o.VaeDtype, o.Attention));

        // the merged settings are still checked: without the flag, or with another engine, it is refused
        var alone = CliRun.Of(["info", "--model", Fixtures.Checkpoint("wan21_t2v"), "--config", config]);
        Assert.Equal(ExitCode.Usage, alone.Rc);
        Assert.Contains("vae_dtype: bf16 runs on the native CUDA engine; set engine: native-cuda", alone.Err);
        var cpu = CliRun.Of(["info", "--model", Fixtures.Checkpoint("wan21_t2v"), "--config", config, "--engine", "ort-cpu"]);
        Assert.Equal(ExitCode.Usage, cpu.Rc);
        Assert.Contains("runs on the native CUDA engine", cpu.Err);
        Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--config", config], _ => null));
    }

    [ConformanceFact]
    public void Generate_refuses_a_bad_file_before_any_work_with_exit_2_and_takes_a_good_one()
    {
        var bad = CliRun.Of(["generate", "--model", Fixtures.Checkpoint("wan21_t2v"), "--prompt", "x", "--config", Write("cache_config: {cache_backend: teacache, use_ret_steps: true}\n")]);
        Assert.Equal(ExitCode.Usage, bad.Rc);
        Assert.Contains("--config ", Assert.Single(bad.ErrorLines));
        Assert.Contains("cache_config.use_ret_steps: TeaCache's ret-steps variant is not implemented", bad.Err);
        Assert.False(bad.Generated);
        var missing = CliRun.Of(["generate", "--model", Fixtures.Checkpoint("wan21_t2v"), "--prompt", "x", "--config", "/nonexistent/vg.yaml"]);
        Assert.Equal(ExitCode.Failure, missing.Rc);   // a missing input file, as --image's
        Assert.Equal("error: --config /nonexistent/vg.yaml: file not found", Assert.Single(missing.ErrorLines));

        // the engine cache comes from the file: the run finds the suite's built engines there
        string output = Path.Combine(Fixtures.TempDir("cfg-out"), "f.png");
        var good = CliRun.Of(["generate", "--model", Fixtures.Checkpoint("wan21_t2v"), "--prompt", "x", "--height", "32", "--width", "48", "--frames", "1",
            "--steps", "1", "--output", output, "--config", Write($"engine: ort-cpu\nengine_cache: {ConformancePipelines.CacheDir}\n")]);
        Assert.Equal(ExitCode.Success, good.Rc);
        Assert.Contains($"{ConformancePipelines.CacheDir}{Path.DirectorySeparatorChar}transformer-", good.Err);
        Assert.Contains("wrote ", good.Out);
    }

    [Fact]
    public void Cache_config_reads_teacache_and_cache_dit_in_tensorrt_llm_names()
    {
        var tea = VisualGenConfig.Parse("cache_config:\n  cache_backend: teacache\n  teacache_thresh: 0.3\n  coefficients: [1.5, -2, 0.25]\n", "t.yaml");
        Assert.Equal(0.3, tea.TeaCache!.Threshold);
        Assert.Equal([1.5, -2, 0.25], tea.TeaCache.Coefficients!);
        Assert.Null(tea.CacheDit);
        var dit = VisualGenConfig.Parse("cache_config: {cache_backend: cache_dit, Fn_compute_blocks: 2, Bn_compute_blocks: 1, residual_diff_threshold: 0.1, max_warmup_steps: 3, max_cached_steps: 4}\n", "d.yaml");
        Assert.Equal(new VisualGen.Pipelines.Caching.CacheDitOptions(2, 1, 0.1, 3, 4), dit.CacheDit);
        Assert.Equal(dit.CacheDit, VisualGenConfig.Parse(dit.ToYaml(), "printed").CacheDit);
        var printed = VisualGenConfig.Parse(tea.ToYaml(), "printed").TeaCache!;
        Assert.Equal(0.3, printed.Threshold);
        Assert.Equal([1.5, -2, 0.25], printed.Coefficients!);
    }

    [ConformanceFact]
    public void Generate_takes_its_step_cache_from_the_file_unless_a_flag_sets_one()
    {
        string config = Write($"engine_cache: {ConformancePipelines.CacheDir}\ncache_config: {{cache_backend: teacache, teacache_thresh: 1000000}}\n");
        string[] args = ["generate", "--model", Fixtures.Checkpoint("wan21_t2v"), "--prompt", "x", "--height", "32", "--width", "48", "--frames", "1",
            "--steps", "4", "--output", Path.Combine(Fixtures.TempDir("cfg-tea"), "f.png"), "--config", config];
        var run = CliRun.Of(args);
        Assert.True(run.Rc == ExitCode.Success, run.Err);
        Assert.Contains("teacache: 2 of 4 steps computed, 2 skipped", run.Err); // a huge threshold: only the first and last step
        var flag = CliRun.Of([.. args, "--cache-dit-fn", "1", "--cache-dit-warmup", "4"]);
        Assert.True(flag.Rc == ExitCode.Success, flag.Err);
        Assert.DoesNotContain("teacache:", flag.Err);
    }

    [ConformanceFact]
    public void A_cache_dit_default_more_than_the_model_s_blocks_names_the_file_s_keys()
    {
        // the fixture's transformer has 2 blocks: the file's Fn_compute_blocks (default 8) cannot apply; the error named
        // cache_dit_fn, a request parameter the file never wrote
        string config = Write($"engine_cache: {ConformancePipelines.CacheDir}\ncache_config: {{cache_backend: cache_dit, Bn_compute_blocks: 1}}\n");
        var run = CliRun.Of(["generate", "--model", Fixtures.Checkpoint("wan21_t2v"), "--prompt", "x", "--height", "32", "--width", "48", "--frames", "1",
            "--steps", "2", "--output", Path.Combine(Fixtures.TempDir("cfg-dit"), "f.png"), "--config", config]);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Contains("cache_config: Fn_compute_blocks + Bn_compute_blocks = 8 + 1 = 9 is more than the transformer's 2 blocks", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public void The_server_takes_the_file_under_its_flags()
    {
        string config = Write("engine: native-cuda\nengine_cache: /srv/engines\ngpu_memory: 24\n");
        var o = ServerOptions.Parse(["--config", config, "--engine-cache", "/other"], _ => null);
        Assert.Equal("native-cuda", o.Engine);
        Assert.Equal("/other", o.EngineCacheDir);
        Assert.Equal("24", o.GpuMemory);
        // the Sage recipe's block sizes reach the engines as the --attention value (sage:QxK); a flag still wins
        string sage = Write("engine: native-cuda\nattention_config:\n  quant_attention_config: {qk_dtype: int8, v_dtype: fp8, q_block_size: 64, k_block_size: 128}\n");
        Assert.Equal("sage:64x128", ServerOptions.Parse(["--config", sage], _ => null).Attention);
        Assert.Equal("fp8", ServerOptions.Parse(["--config", sage, "--attention", "fp8"], _ => null).Attention);
        var e = Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--config", Write("parallel_config: {cfg_size: 2}\n")], _ => null));
        Assert.Contains("parallel_config.cfg_size: 2 GPUs", e.Message);
        // a flag given twice is refused, as the CLI refuses it, rather than the last one silently winning
        e = Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--config", config, "--config", sage], _ => null));
        Assert.Equal("--config given twice", e.Message);
        e = Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--engine", "native-cuda", "--engine", "ort-cpu"], _ => null));
        Assert.Equal("--engine given twice", e.Message);
        Assert.Equal(["a", "b"], ServerOptions.Parse(["--api-key", "a", "--api-key", "b"], _ => null).ApiKeys);   // repeatable
    }
}
