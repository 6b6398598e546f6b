namespace VisualGen.Pipelines.Vae;

/// <summary>Where tiled VAE decoding is implemented: FLUX.1 (<see cref="AutoencoderKLTiling"/>), Qwen-Image and Wan
/// (<see cref="CausalVaeTiling"/>). Other families refuse a request that asks for it rather than ignore it.</summary>
public static class VaeTilingSupport
{
    public static void RefuseIn(GenerationRequest r, string family)
    {
        if (r.VaeTiling == true)
            throw new GenerationException("vae_tiling", $"tiled VAE decoding is not implemented for {family} (it is for FLUX.1, FLUX.2, Qwen-Image, Wan and Cosmos3); turn vae_tiling off (--vae-tiling off)");
    }
}
