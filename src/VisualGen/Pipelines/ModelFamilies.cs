using VisualGen.Checkpoints;
using VisualGen.Pipelines.Cosmos3;
using VisualGen.Pipelines.Flux;
using VisualGen.Pipelines.Flux2;
using VisualGen.Pipelines.Ltx2;
using VisualGen.Pipelines.Ltx2.SingleFile;
using VisualGen.Pipelines.QwenImage;
using VisualGen.Pipelines.Wan;

namespace VisualGen.Pipelines;

/// <summary>Every pipeline VisualGen runs, registered by model_index.json's _class_name (and the monolithic files it
/// reads, by their metadata).</summary>
public static class ModelFamilies
{
    public static PipelineRegistry CreateRegistry() => new PipelineRegistry()
        .Register("WanPipeline", new PipelineDescriptor("wan", (model, engines) => new WanPipeline(model, engines)))
        .Register("WanImageToVideoPipeline", new PipelineDescriptor("wan", (model, engines) => new WanPipeline(model, engines)))
        .Register("FluxPipeline", new PipelineDescriptor("flux", (model, engines) => new FluxPipeline(model, engines)))
        .Register(FluxKontext.ClassName, new PipelineDescriptor("flux", (model, engines) => new FluxPipeline(model, engines)))
        .Register(FluxFill.ClassName, new PipelineDescriptor("flux", (model, engines) => new FluxPipeline(model, engines)))
        .Register("Flux2Pipeline", new PipelineDescriptor("flux2", (model, engines) => new Flux2Pipeline(model, engines)))
        .Register("QwenImagePipeline", new PipelineDescriptor("qwenimage", (model, engines) => new QwenImagePipeline(model, engines)))
        .Register("Cosmos3OmniPipeline", new PipelineDescriptor("cosmos3", (model, engines) => new Cosmos3Pipeline(model, engines)))
        .Register("LTX2Pipeline", new PipelineDescriptor("ltx2", (model, engines) => new Ltx2Pipeline(model, engines)))
        // Lightricks' monolithic LTX-2 files, told by their header metadata (Ltx2SingleFile)
        .RegisterFileDetector(Ltx2SingleFile.Detect);
}
