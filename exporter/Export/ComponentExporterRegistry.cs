using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Cosmos3;
using VisualGen.Exporter.Models.Flux;
using VisualGen.Exporter.Models.Flux2;
using VisualGen.Exporter.Models.Ltx2.AudioVae;
using VisualGen.Exporter.Models.Ltx2.Connectors;
using VisualGen.Exporter.Models.Ltx2.Transformer;
using VisualGen.Exporter.Models.Ltx2.Vae;
using VisualGen.Exporter.Models.Ltx2.Vocoder;
using VisualGen.Exporter.Models.QwenImage;
using VisualGen.Exporter.Models.Shared.Clip;
using VisualGen.Exporter.Models.Shared.Gemma3;
using VisualGen.Exporter.Models.Shared.Qwen25VL;
using VisualGen.Exporter.Models.Shared.T5;
using VisualGen.Exporter.Models.Shared.Vae;
using VisualGen.Exporter.Models.Wan;
using VisualGen.Exporter.Models.Wan.Vae;
using VisualGen.Pipelines.Caching;
using VisualGen.Pipelines.Ltx2;
using VisualGen.Pipelines.Wan;

namespace VisualGen.Exporter.Export;

/// <summary>Component classes the exporter can trace, keyed by model_index.json's class name. Families register
/// their components in <see cref="CreateDefault"/>; nothing switches on class names elsewhere.</summary>
public sealed class ComponentExporterRegistry
{
    readonly Dictionary<string, ComponentExporter> _byClass = new(StringComparer.Ordinal);

    public ComponentExporterRegistry Register(ComponentExporter exporter)
    {
        _byClass[exporter.ClassName] = exporter;
        return this;
    }

    public IEnumerable<string> ClassNames => _byClass.Keys.OrderBy(k => k, StringComparer.Ordinal);

    public bool TryGet(string className, out ComponentExporter exporter) => _byClass.TryGetValue(className, out exporter!);

    public ComponentExporter Get(ModelIndex model, string component)
    {
        if (!model.Components.TryGetValue(component, out var c) || !c.IsPresent)
            throw new CheckpointException(model.FilePath, $"the model has no component '{component}' (components: {string.Join(", ", model.Components.Values.Where(v => v.IsPresent).Select(v => v.Name))})");
        return _byClass.TryGetValue(c.ClassName!, out var e) ? e
            : throw new CheckpointException(model.FilePath, $"component '{component}' is a {c.ClassName}, which the exporter cannot trace (known: {string.Join(", ", ClassNames)})");
    }

    public static ComponentExporterRegistry CreateDefault() => new ComponentExporterRegistry()
        .Register(new ComponentExporter("WanTransformer3DModel", [""], ctx => ctx.Part.Length == 0
            ? WanTransformer3D.Trace(ctx.ComponentDirectory, ctx.Weights, perTokenTimesteps: ctx.Model.Fields.GetBool("expand_timesteps", false), ctx.Quantization)
            : WanTransformer3D.TracePart(ctx.ComponentDirectory, ctx.Weights, ctx.Model.Fields.GetBool("expand_timesteps", false), ctx.Part, ctx.Quantization))
        {
            Quantizable = true,
            OnDemandParts = part => TransformerParts.IsPart(part, int.MaxValue),
        })
        .Register(WanVae("AutoencoderKLWan"))
        // Qwen-Image's VAE is the Wan 2.1 VAE (same modules and keys; input_channels names in/out channels)
        .Register(WanVae("AutoencoderKLQwenImage"))
        .Register(new ComponentExporter("UMT5EncoderModel", [""], ctx => T5Encoder.Trace(ctx.ComponentDirectory, ctx.Weights)))
        .Register(new ComponentExporter("T5EncoderModel", [""], ctx => T5Encoder.Trace(ctx.ComponentDirectory, ctx.Weights)))
        .Register(new ComponentExporter("CLIPTextModel", [""], ctx => ClipTextModel.Trace(ctx.ComponentDirectory, ctx.Weights)))
        .Register(new ComponentExporter("CLIPVisionModel", [""], ctx => ClipVisionModel.Trace(ctx.ComponentDirectory, ctx.Weights)))
        .Register(new ComponentExporter("Qwen2_5_VLForConditionalGeneration", [""], ctx => Qwen25VLTextModel.Trace(ctx.ComponentDirectory, ctx.Weights)))
        .Register(new ComponentExporter("QwenImageTransformer2DModel", [""], ctx => ctx.Part.Length == 0
            ? QwenImageTransformer2DModel.Trace(ctx.ComponentDirectory, ctx.Weights, ctx.Quantization)
            : QwenImageTransformer2DModel.TracePart(ctx.ComponentDirectory, ctx.Weights, ctx.Part, ctx.Quantization))
        {
            Quantizable = true,
            OnDemandParts = part => TransformerParts.IsPart(part, int.MaxValue),
        })
        .Register(new ComponentExporter("Cosmos3OmniTransformer", [""], ctx => ctx.Part.Length == 0
            ? Cosmos3OmniTransformer.Trace(ctx.ComponentDirectory, ctx.Weights, ctx.Quantization)
            : Cosmos3OmniTransformer.TracePart(ctx.ComponentDirectory, ctx.Weights, ctx.Part, ctx.Quantization))
        {
            Quantizable = true,
            OnDemandParts = part => TransformerParts.IsPart(part, int.MaxValue),
        })
        .Register(new ComponentExporter("FluxTransformer2DModel", [""], ctx => ctx.Part.Length == 0
            ? FluxTransformer2D.Trace(ctx.ComponentDirectory, ctx.Weights, ctx.Quantization)
            : FluxTransformer2D.TracePart(ctx.ComponentDirectory, ctx.Weights, ctx.Part, ctx.Quantization))
        {
            Quantizable = true,
            OnDemandParts = part => TransformerParts.IsPart(part, int.MaxValue),
        })
        .Register(new ComponentExporter("Mistral3ForConditionalGeneration", [""], ctx => Flux2TextEncoder.Trace(ctx.ComponentDirectory, ctx.Weights)))
        .Register(new ComponentExporter("Flux2Transformer2DModel", [""], ctx => ctx.Part.Length == 0
            ? Flux2Transformer2D.Trace(ctx.ComponentDirectory, ctx.Weights, ctx.Quantization)
            : Flux2Transformer2D.TracePart(ctx.ComponentDirectory, ctx.Weights, ctx.Part, ctx.Quantization))
        {
            Quantizable = true,
            OnDemandParts = part => TransformerParts.IsPart(part, int.MaxValue),
        })
        // FLUX.2's VAE: AutoencoderKL's graphs; its latent batch-norm statistics ("bn.") are the pipeline's
        .Register(new ComponentExporter(AutoencoderKLFlux2.ClassName, ["decoder", "encoder"], ctx => ctx.Part == "decoder"
            ? AutoencoderKLFlux2.TraceDecoder(ctx.ComponentDirectory, ctx.Weights)
            : AutoencoderKLFlux2.TraceEncoder(ctx.ComponentDirectory, ctx.Weights)))
        .Register(new ComponentExporter("AutoencoderKL", ["decoder", "encoder"], ctx => ctx.Part == "decoder"
            ? AutoencoderKL.TraceDecoder(ctx.ComponentDirectory, ctx.Weights)
            : AutoencoderKL.TraceEncoder(ctx.ComponentDirectory, ctx.Weights)))
        .Register(new ComponentExporter("AutoencoderKLLTX2Video", ["decoder"], ctx => AutoencoderKLLtx2Video.TraceDecoder(ctx.Model.LoadConfig(ctx.ComponentName), ctx.ComponentDirectory, ctx.Weights)))
        .Register(new ComponentExporter("AutoencoderKLLTX2Audio", ["decoder"], ctx => AutoencoderKLLtx2Audio.TraceDecoder(ctx.Model.LoadConfig(ctx.ComponentName), ctx.ComponentDirectory, ctx.Weights)))
        .Register(new ComponentExporter("LTX2Vocoder", [""], ctx => Ltx2Vocoder.Trace(ctx.Model.LoadConfig(ctx.ComponentName), ctx.ComponentDirectory, ctx.Weights)))
        .Register(new ComponentExporter("Gemma3ForConditionalGeneration", [""], ctx => Gemma3TextModel.Trace(ctx.ComponentDirectory, ctx.Weights)))
        .Register(new ComponentExporter("LTX2TextConnectors", [""], ctx => Ltx2TextConnectors.Trace(ctx.Model.LoadConfig(ctx.ComponentName), ctx.ComponentDirectory, ctx.Weights)))
        // one graph per LTX2Pipeline call kind: "" is the default call; "isolated", "stg_1_2", "…_no_cross_timestep"
        // (Ltx2TransformerCall) are traced when the pipeline first asks for them, as are the main call's step-cache
        // parts (Ltx2CacheLayout: "embed", "blocks_0_4", "blocks_0_4_no_cross_timestep", ...)
        .Register(new ComponentExporter("LTX2VideoTransformer3DModel", [""], ctx =>
        {
            if (Ltx2CacheLayout.TryParsePart(ctx.Part, out _, out _))
                return Ltx2VideoTransformer3DModel.TracePart(ctx.Model.LoadConfig(ctx.ComponentName), ctx.ComponentDirectory, ctx.Weights, ctx.Part, ctx.Quantization);
            var call = Ltx2TransformerCall.Parse(ctx.Part);
            return Ltx2VideoTransformer3DModel.Trace(ctx.Model.LoadConfig(ctx.ComponentName), ctx.ComponentDirectory, ctx.Weights, call.UseCrossTimestep,
                call.IsolateModalities, call.StgBlocks, ctx.Quantization);
        })
        {
            Quantizable = true,
            OnDemandParts = part => Ltx2TransformerCall.TryParse(part, out _) || Ltx2CacheLayout.TryParsePart(part, out _, out _),
        });

    /// <summary>The Wan VAE's chunk graphs (decoder and encoder, first and next chunk) under a class name; the decoder
    /// chunks without their final clamp (tiled decoding's tiles) are traced when a pipeline first asks for them.</summary>
    static ComponentExporter WanVae(string className)
    {
        string first = WanVaeDecoder.FirstChunkPart, next = WanVaeDecoder.NextChunkPart;
        string firstUnclamped = WanVaeDecoder.UnclampedPart(first), nextUnclamped = WanVaeDecoder.UnclampedPart(next);
        return new(className, [first, next, "encoder_first", "encoder_next"], ctx => ctx.Part switch
        {
            _ when ctx.Part == first => AutoencoderKLWan.TraceDecoder(ctx.ComponentDirectory, ctx.Weights, WanChunk.First),
            _ when ctx.Part == next => AutoencoderKLWan.TraceDecoder(ctx.ComponentDirectory, ctx.Weights, WanChunk.Next),
            _ when ctx.Part == firstUnclamped => AutoencoderKLWan.TraceDecoder(ctx.ComponentDirectory, ctx.Weights, WanChunk.First, clamp: false),
            _ when ctx.Part == nextUnclamped => AutoencoderKLWan.TraceDecoder(ctx.ComponentDirectory, ctx.Weights, WanChunk.Next, clamp: false),
            "encoder_first" => AutoencoderKLWan.TraceEncoder(ctx.ComponentDirectory, ctx.Weights, WanChunk.First),
            _ => AutoencoderKLWan.TraceEncoder(ctx.ComponentDirectory, ctx.Weights, WanChunk.Next),
        })
        {
            OnDemandParts = part => part == firstUnclamped || part == nextUnclamped,
        };
    }
}
