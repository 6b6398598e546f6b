using VisualGen.Exporter.Commands;
using VisualGen.Quantization;

namespace VisualGen.Cli;

/// <summary>The usage text of each command (printed by <c>COMMAND --help</c>) and of the whole tool.</summary>
public static class CliUsage
{
    public const string Generate = """
          generate  [--model DIR] --prompt TEXT | --prompt-file FILE [--num-images-per-prompt N] [--negative-prompt TEXT]
                    [--height N] [--width N] [--frames N]
                    [--steps N] [--guidance-scale X] [--guidance-scale-2 X] [--true-cfg-scale X] [--shift X] [--seed N]
                    [--max-sequence-length N] [--fps X | --frame-rate X] [--image FILE ...] [--last-image FILE] [--mask-image FILE]
                    [--strength X] [--max-area N] [--latents FILE] [--save-tensors FILE]
                    LTX-2: [--stg-scale X] [--modality-scale X] [--guidance-rescale X] [--audio-guidance-scale X]
                    [--audio-stg-scale X] [--audio-modality-scale X] [--audio-guidance-rescale X]
                    [--spatio-temporal-guidance-blocks N,N,...] [--use-cross-timestep true|false]   (an audio value of 0
                    takes the video one, as diffusers does; --latents may also hold audio_latents, --save-tensors then
                    writes audio_latents and audio; the soundtrack is muxed into the MP4, or written as FOLDER.wav
                    beside PNG frames)
                    [--output PATH] [--format mp4|png] [--engine ort-cpu|ort-cuda|native-cuda]
                    [--engine-cache DIR | --cache DIR] [--attention bf16|fp8|sage|sage:QxK]   (native-cuda self-attention:
                    fp8 = FP8 per tensor; sage = INT8 Q·Kᵀ with smoothed K + FP8 P·V, Sage-style, one INT8 scale per
                    16 queries / 64 keys; sage:QxK another granularity, Q 16|32|64|128, K 64|128)
                    [--gpu-memory GiB]   (native-cuda: the engines' GPU memory; engines of earlier stages are released to stay within it)
                    [--vae-dtype fp32|bf16]   (native-cuda: the VAE in bf16; default fp32, as diffusers runs it)
                    [--vae-tiling on|off]   (decode latents larger than one VAE tile in blended tiles, as diffusers'
                    vae.enable_tiling(); every family; default off)
                    [--quant-algo FP8|FP8_BLOCK_SCALES|NVFP4 [--quant-ignore PATTERN,...]]   (quantize the transformer's
                    linears when its graph is built; a checkpoint with a quantization_config runs quantized as stored)
                    [--config FILE.yaml]   (engine, engine_cache, gpu_memory, vae_dtype, vae_tiling,
                    attention_config, quant_config, parallel_config; flags win)
                    [--teacache-thresh X [--teacache-coefficients a,b,...]]   (TeaCache; coefficients highest power
                    first, default: the family's shipped table)
                    [--cache-dit-fn N] [--cache-dit-bn N] [--cache-dit-threshold X] [--cache-dit-warmup N]
                    [--cache-dit-max-cached N]   (Cache-DiT DBCache; defaults F8B0, 0.08, 8 warm-up steps, -1 = no limit)
                    A step cache reports the steps it computed and skipped on stderr.
                    Without --model, a built-in tiny demo model (random weights) is used.
                    --image: the first frame (image-to-video), the image-to-image source of FLUX.1 and Qwen-Image
                    (--strength X in (0, 1], default 0.6: how much of it is regenerated), the image FLUX.1 Kontext
                    edits, or FLUX.2's reference image; FLUX.2 takes several (--image a.png --image b.png), in order.
                    --last-image (Wan image-to-video): the last frame beside --image, the first. --mask-image (FLUX.1,
                    Qwen-Image; with --image): inpainting, as diffusers' FluxInpaintPipeline and
                    QwenImageInpaintPipeline, or a FLUX.1 Fill model's fill: white is repainted, black kept.
                    --max-area N (FLUX.1 Kontext, default 1048576): the area in pixels its output size is fitted
                    to, as diffusers' max_area.
                    --format defaults to the --output extension (.png, .mp4), else mp4 for video and png for images;
                    an extension that disagrees with --format, or any other extension (.jpg), is refused. PNG video
                    is a folder of frames.
                    --prompt-file FILE: one prompt a line (blank lines skipped), generated in turn with the engines
                    loaded once; --num-images-per-prompt N: N of each prompt. Generation k (from 0, prompt-major) runs
                    at --seed + k (its output equals --prompt LINE --seed SEED+k) and is written to --output (and
                    --save-tensors) numbered _0001, _0002, ...; every request is checked before the first runs.
        """;

    public const string Info = """
          info      --model DIR [--config FILE.yaml] [--engine E] [--engine-cache DIR | --cache DIR] [--attention P] [--vae-dtype D]
                    [--vae-tiling on|off] [--gpu-memory GiB] [--quant-algo A [--quant-ignore PATTERN,...]]
                    Prints the detected pipeline class, family, what it makes from what (a prompt, an image), the
                    call arguments it takes (the generate flags only some models take; it refuses the others), its
                    components and which ones export, and the run configuration the config file and the flags give
                    together.
        """;

    public const string Build = BuildCommand.Usage;

    public const string RunComponent = """
          run-component --model DIR --component NAME --inputs FILE [--prefix P] --output FILE
                    [--engine ort-cpu|ort-cuda|native-cuda] [--engine-cache DIR | --cache DIR]
                    [--attention bf16|fp8|sage|sage:QxK] [--vae-dtype fp32|bf16] [--gpu-memory GiB] [--config FILE.yaml]
                    [--quant-algo FP8|FP8_BLOCK_SCALES|NVFP4 [--quant-ignore PATTERN,...]]
                    Builds one component (transformer, vae.decoder, ...) and runs it on the tensors of FILE named
                    P + input name; writes the output as 'out' (several outputs: each by its name). For checking
                    a quantized checkpoint against a reference. A checkpoint whose config.json has a ModelOpt
                    quantization_config is loaded quantized as stored; --quant-algo quantizes a float checkpoint's
                    transformer linears when the graph is built (--quant-ignore: module paths left as they are, * any run).
        """;

    public static readonly string Quantize = $"""
          quantize  --model DIR --scheme fp8|fp8_block|nvfp4 --output DIR2 [--ignore PATTERN,...]
                    Writes a ModelOpt-style quantized copy of a checkpoint: the diffusion transformers' linears as
                    codes + scales with quantization_config in config.json (linears whose shape the blocks do not
                    divide stay unquantized, are logged and ignored), everything else copied. Runs as stored.
          quantize  --tensors FILE --scheme {string.Join("|", QuantizationSchemeRegistry.CreateDefault().Names)} --output FILE
                    Quantizes every tensor of a safetensors file (F32, BF16 or F16) and writes TENSOR.SCHEME.PART:
        {string.Join("\n", QuantizationSchemeRegistry.CreateDefault().Schemes.Select(s => $"              {s.Name,-11}{s.Summary}"))}
        """;

    public const string Cache = """
          cache     list [--cache DIR | --engine-cache DIR] [--config FILE.yaml]   (--config: its engine_cache)
                    The engine cache's entries, most recently used first: when an engine was last loaded from each,
                    its size, backend, precision and component.
          cache     prune --unused-for AGE [--dry-run] [--cache DIR | --engine-cache DIR] [--config FILE.yaml]   (AGE: 90s, 30m, 24h, 7d)
                    Removes the entries no engine was loaded from for AGE, and leftovers of builds that died. An
                    entry a running process has loaded or is building is kept (and said so). A removed entry is built
                    again by the next run that needs it. --dry-run lists what would go.
        """;

    public const string ExitStatus = """
        exit status: 0 success; 1 the command ran and failed (a model, engine, input or output file missing, unreadable
                     or unwritable; ffmpeg missing; an engine failure); 2 usage error (unknown command or flag, a bad
                     value, flags that disagree, a request the model refuses); 130 cancelled (Ctrl+C)
        """;

    public static string Of(string command) => command switch
    {
        "generate" => Command("generate", Generate),
        "info" => Command("info", Info),
        "build" => Command("build", Build),
        "run-component" => Command("run-component", RunComponent),
        "quantize" => Command("quantize", Quantize),
        "cache" => Command("cache", Cache),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command, "not a command"),
    };

    public static string Tool => $"""
        usage: visualgen <command> [flags]      (visualgen <command> --help: that command's flags; visualgen --version)
        {Generate}
        {Info}
        {Build}
        {RunComponent}
        {Quantize}
        {Cache}
        {ExitStatus}
        """;

    static string Command(string name, string text) => $"usage: visualgen {name} [flags]\n{text}\n{ExitStatus}";
}
