namespace VisualGen.Pipelines;

/// <summary>Progress of one generation: the stage ("encode", "denoise", "decode") and, while denoising, the step; a
/// tiled VAE decode (<see cref="GenerationRequest.VaeTiling"/>) reports "decode" again after each tile with the tiles
/// decoded and the tiles in all.</summary>
public sealed record GenerationProgress(string Stage, int Step, int TotalSteps);
