namespace VisualGen.Pipelines;

/// <summary>Progress of one generation: the stage ("encode", "denoise", "decode") and, while denoising, the step.</summary>
public sealed record GenerationProgress(string Stage, int Step, int TotalSteps);
