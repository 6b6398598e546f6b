namespace VisualGen.Pipelines;

/// <summary>What a loaded pipeline is and what it accepts.</summary>
public sealed record PipelineInfo
{
    /// <summary>model_index.json's _class_name, for example "WanPipeline".</summary>
    public required string ClassName { get; init; }
    /// <summary>Family, for example "wan21".</summary>
    public required string Family { get; init; }
    public required bool ProducesVideo { get; init; }
    /// <summary>The call arguments of <see cref="CallArguments"/>' table this pipeline takes; it refuses the others by name.</summary>
    public required IReadOnlyList<CallArgument> Arguments { get; init; }
    /// <summary>True when the pipeline takes a conditioning image (image-to-video, edits): <see cref="Arguments"/> has image.</summary>
    public bool AcceptsImage => Arguments.Contains(CallArguments.Image);
    public bool Takes(CallArgument argument) => Arguments.Contains(argument);
    /// <summary>True when the pipeline cannot run without an image.</summary>
    public bool RequiresImage { get; init; }
    /// <summary>True when the pipeline takes its image only as the first frame of a video it makes from it (Cosmos3): a
    /// one-frame generation, an image, takes none.</summary>
    public bool ImageOnlyForVideo { get; init; }
    /// <summary>True when a request's shift (--shift) replaces the scheduler's: false where the scheduler shifts by the
    /// image size (use_dynamic_shifting: FLUX.1, FLUX.2, Qwen-Image, LTX-2), which refuses it (<see cref="SchedulerShift"/>).</summary>
    public bool TakesShift { get; init; }
    /// <summary>How many conditioning images a request may give (<see cref="GenerationRequest.Images"/> beyond one): 1 for a
    /// pipeline that takes an image, 0 for one that takes none; FLUX.2's reference images have no fixed limit (int.MaxValue).</summary>
    public int MaxImages { get; init; } = 1;
    public required int DefaultHeight { get; init; }
    public required int DefaultWidth { get; init; }
    public int DefaultNumFrames { get; init; } = 1;
    /// <summary>num_frames - 1 must be a multiple of this (Wan: the VAE's temporal factor 4); 1 for image models.</summary>
    public int FrameMultiple { get; init; } = 1;
    public required int DefaultSteps { get; init; }
    /// <summary>Height and width must be multiples of this.</summary>
    public required int SizeMultiple { get; init; }
    public int FramesPerSecond { get; init; } = 16;
    /// <summary>true_cfg_scale when the request gives none, for pipelines that take it (Qwen-Image 4, FLUX.1 1).</summary>
    public double DefaultTrueCfgScale { get; init; } = 1.0;
}
