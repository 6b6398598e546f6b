using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Models.Wan.Vae;

namespace VisualGen.Tests.Models;

/// <summary>The Wan VAE graphs of one checkpoint component folder, exported and loaded in ONNX Runtime CPU.</summary>
sealed class WanVaeEngines : IDisposable
{
    readonly List<IEngine> _engines = [];
    readonly SafeTensorsFile _weights;
    readonly string _dir;

    public WanVaeEngines(string vaeDir)
    {
        _dir = vaeDir;
        _weights = SafeTensorsFile.Open(Path.Combine(vaeDir, "diffusion_pytorch_model.safetensors"));
    }

    public IEngine Decoder(WanChunk chunk) => Keep(OrtTestEngine.Build(AutoencoderKLWan.TraceDecoder(_dir, _weights, chunk), $"vae_decoder_{chunk}"));

    /// <summary>The decoder chunk graph without its final clamp (the tiles of a tiled decode).</summary>
    public IEngine UnclampedDecoder(WanChunk chunk) => Keep(OrtTestEngine.Build(AutoencoderKLWan.TraceDecoder(_dir, _weights, chunk, clamp: false), $"vae_decoder_{chunk}_unclamped"));

    public IEngine Encoder(WanChunk chunk) => Keep(OrtTestEngine.Build(AutoencoderKLWan.TraceEncoder(_dir, _weights, chunk), $"vae_encoder_{chunk}"));

    IEngine Keep(IEngine e) { _engines.Add(e); return e; }

    public void Dispose()
    {
        foreach (var e in _engines) e.Dispose();
        _weights.Dispose();
    }
}
