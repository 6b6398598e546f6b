using System.Globalization;

namespace VisualGen.Server.Hosting;

/// <summary>Command-line settings of the server. Limits bound what one request may ask for.</summary>
public sealed record ServerOptions
{
    /// <summary>The --config file's cache_config: the step cache of requests that choose none.</summary>
    public VisualGen.Pipelines.Caching.TeaCacheOptions? TeaCache { get; init; }
    public VisualGen.Pipelines.Caching.CacheDitOptions? CacheDit { get; init; }
    /// <summary>A YAML run configuration (<see cref="VisualGen.Configuration.VisualGenConfig"/>); the flags override it.</summary>
    public string? ConfigFile { get; init; }
    /// <summary>Diffusers checkpoint folder (or a monolithic LTX-2 .safetensors file); null serves the built-in demo model.</summary>
    public string? ModelDir { get; init; }
    /// <summary>The id clients put in "model"; null uses the pipeline's family.</summary>
    public string? ModelName { get; init; }
    /// <summary>Engine cache folder; null: $VISUALGEN_CACHE, else ~/.cache/visualgen/engines.</summary>
    public string? EngineCacheDir { get; init; }
    /// <summary>Engine backend ("ort-cpu", "ort-cuda"); null: ort-cpu.</summary>
    public string? Engine { get; init; }
    /// <summary>Self-attention precision on the native CUDA engine ("bf16", "fp8", "sage"); null: bf16.</summary>
    public string? Attention { get; init; }
    /// <summary>The VAEs' precision on the native CUDA engine ("fp32", "bf16"); null: fp32.</summary>
    public string? VaeDtype { get; init; }
    /// <summary>Tiled VAE decoding for every request (--vae-tiling on|off, config vae_tiling); null: off.</summary>
    public bool? VaeTiling { get; init; }
    /// <summary>GPU memory (GiB, as given) the pipeline's engines may hold together; null: no limit.</summary>
    public string? GpuMemory { get; init; }
    /// <summary>Dynamic quantization of the transformer's linears (--quant-algo, --quant-ignore); null: none.</summary>
    public VisualGen.Quantization.QuantizationConfig? Quantization { get; init; }
    /// <summary>Listen port on loopback (127.0.0.1); 0 picks a free port. Use --urls to listen elsewhere.</summary>
    public int Port { get; init; } = 8000;
    /// <summary>Explicit listen URLs (ASP.NET's --urls), overriding Port.</summary>
    public string? Urls { get; init; }
    /// <summary>
    /// Base of the URLs the server answers (images by URL), e.g. "https://gen.example.com/visualgen"; null: the first
    /// address it listens on. Never taken from the request's Host header, which a client can forge.
    /// </summary>
    public string? PublicUrl { get; init; }
    public string DataDir { get; init; } = "visualgen-data";
    /// <summary>Where finished videos, input images and URL images go; null: the data folder. With a shared store, a
    /// folder every replica reads (a network file system).</summary>
    public string? OutputsDir { get; init; }
    /// <summary>The shared job store (postgres://…); null keeps jobs in the data folder, for this process alone.</summary>
    public string? Store { get; init; }
    /// <summary>With a shared store: how long a claimed job stays this replica's without a renewal (renewed every quarter of it).</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Finished video jobs (record, video, input image) and URL images older than this are deleted; null keeps them.</summary>
    public TimeSpan? RetentionMaxAge { get; init; }
    /// <summary>Most bytes of stored media (videos, input images, URL images, job records); the oldest finished are deleted past it. Null: no bound.</summary>
    public long? RetentionMaxBytes { get; init; }
    /// <summary>How often retention runs (it also runs once at startup).</summary>
    public TimeSpan RetentionSweepInterval { get; init; } = TimeSpan.FromMinutes(1);
    /// <summary>Requests waiting for the worker (the running one not counted); more answer 429.</summary>
    public int QueueSize { get; init; } = 16;
    /// <summary>
    /// On SIGTERM (ApplicationStopping) the server stops admitting work and lets the running job finish for this long;
    /// past it the job is cancelled and stored as queued again, so the next start reruns it.
    /// </summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(60);
    public IReadOnlyList<string> ApiKeys { get; init; } = [];
    public long MaxUploadBytes { get; init; } = 20 * 1024 * 1024;
    public int MaxSide { get; init; } = 2048;
    public int MaxFrames { get; init; } = 257;
    public int MaxSteps { get; init; } = 200;
    public int MaxImagesPerRequest { get; init; } = 4;
    public int MaxPromptChars { get; init; } = 10_000;
    /// <summary>
    /// Working memory one generation may need, as the pipeline estimates it from size, frames and the model
    /// (<see cref="VisualGen.Pipelines.GenerationCost"/>); a request over it is refused before it is queued. Null: 80% of
    /// the memory available to the process (its container limit where there is one).
    /// </summary>
    public long? MaxJobMemory { get; init; }
    /// <summary>A generation running longer than this is stopped and fails with code "timeout"; null: no limit.</summary>
    public TimeSpan? JobTimeout { get; init; }
    /// <summary>Most pixels an uploaded image may declare in its header (checked before it is decoded).</summary>
    public long MaxImagePixels { get; init; } = 40_000_000;

    /// <summary>Environment variable with comma-separated API keys, added to --api-key.</summary>
    public const string ApiKeysVariable = "VISUALGEN_API_KEYS";

    public const string Usage =
        "usage: VisualGen.Server [--model DIR] [--model-name ID] [--engine-cache DIR | --cache DIR] [--engine NAME] [--attention bf16|fp8|sage|sage:QxK] [--vae-dtype fp32|bf16] [--vae-tiling on|off]\n" +
        "                        [--gpu-memory GiB] [--quant-algo FP8|FP8_BLOCK_SCALES|NVFP4 [--quant-ignore PATTERN,...]]\n" +
        "                        [--config FILE.yaml]   (engine, engine_cache, gpu_memory, vae_dtype, vae_tiling, attention_config, quant_config; flags win)\n" +
        "                        [--port N | --urls URLS] [--public-url URL] [--data DIR] [--store postgres://USER:PASSWORD@HOST:PORT/DB] [--outputs DIR] [--lease AGE]\n" +
        "                        [--retention-max-age AGE] [--retention-max-bytes N] [--retention-sweep AGE]   (AGE: 90s, 30m, 24h, 7d)\n" +
        "                        [--queue-size N] [--shutdown-grace AGE] [--api-key KEY]... [--max-upload-bytes N] [--max-side N] [--max-frames N] [--max-steps N]\n" +
        "                        [--max-job-memory N] [--job-timeout AGE] [--max-image-pixels N]\n" +
        $"  API keys also come from ${ApiKeysVariable} (comma-separated); the store from ${Jobs.Postgres.StoreAddress.Variable}.";

    static VisualGen.Quantization.QuantizationConfig CheckedQuantization(string algo, IReadOnlyList<string>? ignore)
    {
        try { return VisualGen.Exporter.Commands.QuantizationFlags.Parse(algo, ignore is null ? null : string.Join(",", ignore))!; }
        catch (VisualGen.Exporter.Commands.UsageException e) { throw new ArgumentException(e.Message); }
    }

    static string OneCache(string? earlier, string flag, string value) =>
        earlier is null || earlier == value ? value : throw new ArgumentException($"{flag} {value} and the engine cache given before it ({earlier}) name two engine caches; give one");

    static string[] Patterns(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    static string CheckedGpuMemory(string value)
    {
        try { VisualGen.Exporter.Commands.Runtime.GpuMemory(value); }
        catch (VisualGen.Exporter.Commands.UsageException e) { throw new ArgumentException(e.Message); }
        return value;
    }

    /// <summary>The flags <see cref="Parse"/> takes, each followed by its value, and what each makes of it (a value may not
    /// be one of the flags).</summary>
    static readonly Dictionary<string, Func<ServerOptions, FlagValue, ServerOptions>> Flags = new()
    {
        ["--config"] = (o, v) => o with { ConfigFile = v.Text() },
        ["--model"] = (o, v) => o with { ModelDir = v.Text() },
        ["--model-name"] = (o, v) => o with { ModelName = v.Text() },
        // --cache as build and generate spell it
        ["--engine-cache"] = (o, v) => o with { EngineCacheDir = OneCache(o.EngineCacheDir, v.Flag, v.Text()) },
        ["--cache"] = (o, v) => o with { EngineCacheDir = OneCache(o.EngineCacheDir, v.Flag, v.Text()) },
        ["--engine"] = (o, v) => o with { Engine = VisualGen.Exporter.Commands.Runtime.EngineName(v.Text()) },
        ["--attention"] = (o, v) => o with { Attention = v.Text() },
        ["--vae-dtype"] = (o, v) => o with { VaeDtype = v.Text() },
        ["--vae-tiling"] = (o, v) => o with { VaeTiling = OnOff(v.Flag, v.Text()) },
        ["--gpu-memory"] = (o, v) => o with { GpuMemory = CheckedGpuMemory(v.Text()) },
        ["--quant-algo"] = (o, v) => o with { Quantization = CheckedQuantization(v.Text(), o.Quantization?.Ignore) },
        ["--quant-ignore"] = (o, v) => o with { Quantization = o.Quantization is { } q ? q with { Ignore = Patterns(v.Text()) } : throw new ArgumentException("--quant-ignore needs --quant-algo before it") },
        ["--port"] = (o, v) => o with { Port = v.Int(0, 65535) },
        ["--urls"] = (o, v) => o with { Urls = ListenAddresses(v.Text()) },
        ["--public-url"] = (o, v) => o with { PublicUrl = PublicBase(v.Text()) },
        ["--data"] = (o, v) => o with { DataDir = v.Text() },
        ["--outputs"] = (o, v) => o with { OutputsDir = v.Text() },
        ["--store"] = (o, v) => o with { Store = v.Text() },
        ["--lease"] = (o, v) => o with { Lease = Duration(v.Flag, v.Text()) },
        ["--retention-max-age"] = (o, v) => o with { RetentionMaxAge = Duration(v.Flag, v.Text()) },
        ["--retention-max-bytes"] = (o, v) => o with { RetentionMaxBytes = Bytes(v.Flag, v.Text()) },
        ["--retention-sweep"] = (o, v) => o with { RetentionSweepInterval = Duration(v.Flag, v.Text()) },
        ["--queue-size"] = (o, v) => o with { QueueSize = v.Int(1, 100_000) },
        ["--shutdown-grace"] = (o, v) => o with { ShutdownGrace = Duration(v.Flag, v.Text()) },
        ["--max-upload-bytes"] = (o, v) => o with { MaxUploadBytes = v.Int(1024, int.MaxValue) },
        ["--max-side"] = (o, v) => o with { MaxSide = v.Int(16, 16384) },
        ["--max-frames"] = (o, v) => o with { MaxFrames = v.Int(1, 10_000) },
        ["--max-steps"] = (o, v) => o with { MaxSteps = v.Int(1, 10_000) },
        ["--max-job-memory"] = (o, v) => o with { MaxJobMemory = Bytes(v.Flag, v.Text()) },
        ["--job-timeout"] = (o, v) => o with { JobTimeout = Duration(v.Flag, v.Text()) },
        ["--max-image-pixels"] = (o, v) => o with { MaxImagePixels = v.Int(1, int.MaxValue) },
        ["--api-key"] = (o, v) => AddKey(o, v.Text()),
    };

    /// <summary>The value after a flag: <see cref="Text"/> takes it (an empty one, or another flag, is refused naming the
    /// flag), <see cref="Int"/> reads it as an integer in a range.</summary>
    sealed class FlagValue(string flag, Func<string?> next)
    {
        public string Flag => flag;

        public string Text() => next() is { } v
            ? string.IsNullOrWhiteSpace(v) ? throw new ArgumentException($"{flag} needs a value, got an empty one") : v
            : throw new ArgumentException($"{flag} needs a value. {Usage}");

        public int Int(int min, int max)
        {
            string v = Text();
            if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n < min || n > max)
                throw new ArgumentException($"{flag} must be an integer in [{min}, {max}], got '{v}'");
            return n;
        }
    }

    /// <summary>Parses the command line; an unknown flag or a bad value throws an ArgumentException naming it.</summary>
    public static ServerOptions Parse(IReadOnlyList<string> args, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var o = new ServerOptions();
        var given = new HashSet<string>();
        for (int i = 0; i < args.Count; i++)
        {
            string flag = args[i];
            if (!Flags.TryGetValue(flag, out var apply)) throw new ArgumentException($"unknown argument '{flag}'. {Usage}");
            // an empty value (an unset shell variable) is refused: --data "" put the data folder's files in the working folder;
            // so is another flag (--api-key --data DIR took "--data" as the key, then refused DIR)
            o = apply(o, new FlagValue(flag, () => i + 1 < args.Count && !Flags.ContainsKey(args[i + 1]) ? args[++i] : null));
            // the last one won: --config a.yaml --config b.yaml dropped a.yaml without a word (the CLI refuses it too)
            if (flag is not ("--api-key" or "--engine-cache" or "--cache") && !given.Add(flag))
                throw new ArgumentException($"{flag} given twice");
        }
        if (args.Contains("--port") && args.Contains("--urls"))
            throw new ArgumentException("--port and --urls both say where to listen; give one (--urls takes the port in each URL)");
        foreach (var k in (environment(ApiKeysVariable) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            o = o with { ApiKeys = [.. o.ApiKeys, k] };
        if (o.ConfigFile is { } file)
        {
            VisualGen.Configuration.VisualGenConfig c;
            try { c = VisualGen.Configuration.VisualGenConfig.Load(file, checkEngine: o.Engine is null && o.Attention is null && o.VaeDtype is null); }
            catch (VisualGen.Configuration.ConfigException e) { throw new ArgumentException($"--config {e.Message}"); }
            o = o with
            {
                Engine = o.Engine ?? c.Engine,
                Quantization = o.Quantization ?? c.Quantization,
                TeaCache = c.TeaCache,
                CacheDit = c.CacheDit,
                EngineCacheDir = o.EngineCacheDir ?? c.EngineCache,
                Attention = o.Attention ?? c.Attention.Flag,
                VaeDtype = o.VaeDtype ?? c.VaeDtype,
                VaeTiling = o.VaeTiling ?? c.VaeTiling,
                GpuMemory = o.GpuMemory ?? (c.GpuMemoryGib is double g ? g.ToString(CultureInfo.InvariantCulture) : null),
            };
        }
        if (o.Store is null && environment(Jobs.Postgres.StoreAddress.Variable) is { Length: > 0 } store) o = o with { Store = store };
        if (o.Store is not null)
        {
            Jobs.Postgres.StoreAddress.Parse(o.Store);
            if (o.OutputsDir is null)
                throw new ArgumentException("--store needs --outputs DIR: the folder, shared by every server on the store (a network file system), where videos and images go");
            if (o.Lease < TimeSpan.FromSeconds(1)) throw new ArgumentException($"--lease must be at least 1s, got {o.Lease.TotalSeconds}s");
        }
        else if (args.Contains("--lease")) throw new ArgumentException("--lease applies to a shared store only (--store postgres://…)");
        // a diffusers folder, or a monolithic LTX-2 .safetensors file (detected by its metadata when loaded)
        if (o.ModelDir is not null && !Directory.Exists(o.ModelDir) && !File.Exists(o.ModelDir))
            // a missing input, as the command line's: "cannot start", exit 1 (not a malformed command line)
            throw new DirectoryNotFoundException($"--model: folder '{o.ModelDir}' does not exist (nor a file of that name)");
        return o;
    }

    /// <summary>--urls as Kestrel takes it (one or more http(s) URLs separated by ';', the host a name, an address, or *
    /// or + for every interface), each checked: Kestrel reads a malformed one its own way (http://0.0.0.0:abc listened on
    /// port 80 of every interface).</summary>
    static string ListenAddresses(string urls)
    {
        var parts = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new ArgumentException("--urls must name at least one http:// or https:// URL");
        foreach (string url in parts)
        {
            // * and + (every interface) are Kestrel's, not URI hosts: checked as a name
            string checkable = System.Text.RegularExpressions.Regex.Replace(url, @"^(https?://)[*+](?=[:/]|$)", "$1any-interface");
            if (!Uri.TryCreate(checkable, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.PathAndQuery != "/"
                || u.Fragment.Length > 0 || !ListenCheck.Address().IsMatch(url))
                throw new ArgumentException($"--urls: '{url}' is not an http:// or https:// address (scheme, host and an optional port, for example http://0.0.0.0:8000)");
        }
        return string.Join(';', parts);
    }

    /// <summary>An absolute http(s) URL without query or fragment, kept without its trailing slash.</summary>
    static string PublicBase(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.Query.Length > 0 || u.Fragment.Length > 0)
            throw new ArgumentException($"--public-url must be an absolute http:// or https:// URL without query or fragment, got '{url}'");
        return url.TrimEnd('/');
    }

    static bool OnOff(string flag, string v) => v.Trim().ToLowerInvariant() switch
    {
        "on" or "true" => true,
        "off" or "false" => false,
        _ => throw new ArgumentException($"{flag} must be on or off, got '{v}'"),
    };

    static TimeSpan Duration(string flag, string v) =>
        VisualGen.Configuration.DurationText.TryParse(v) ?? throw new ArgumentException($"{flag} must be {VisualGen.Configuration.DurationText.Expected}, got '{v}'");

    /// <summary>A positive byte count, with an optional suffix K, M, G or T (powers of 1024).</summary>
    static long Bytes(string flag, string v)
    {
        int shift = v.Length == 0 ? 0 : char.ToUpperInvariant(v[^1]) switch { 'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, _ => 0 };
        string digits = shift == 0 ? v : v[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n <= 0 || n > long.MaxValue >> shift)
            throw new ArgumentException($"{flag} must be a positive number of bytes, optionally with K, M, G or T (for example 50G), got '{v}'");
        return n << shift;
    }

    static ServerOptions AddKey(ServerOptions o, string key) =>
        string.IsNullOrWhiteSpace(key) ? throw new ArgumentException("--api-key must not be empty") : o with { ApiKeys = [.. o.ApiKeys, key] };

    public string ListenUrls => Urls ?? $"http://127.0.0.1:{Port}";
}
