using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Wan;

/// <summary>Wan's condition embedder: sinusoidal timestep → MLP (temb) → 6·dim modulation projection; text
/// projection (PixArt-α style, tanh GELU); and, for image-to-video, the CLIP image-token embedder.</summary>
public sealed class WanTimeTextImageEmbedding
{
    readonly Timesteps _timestepsProj;
    readonly TimestepEmbedding _timeEmbedder;
    readonly Linear _timeProj, _text1, _text2;
    readonly WanImageEmbedding? _imageEmbedder;
    readonly int _dim;

    public WanTimeTextImageEmbedding(Weights w, int dim, int timeFreqDim, int textEmbedDim, int? imageEmbedDim, int? posEmbedSeqLen)
    {
        _dim = dim;
        _timestepsProj = new Timesteps(timeFreqDim, flipSinToCos: true, downscaleFreqShift: 0);
        _timeEmbedder = new TimestepEmbedding(w.Sub("time_embedder"), timeFreqDim, dim);
        _timeProj = new Linear(w.Sub("time_proj"), dim, dim * 6);
        _text1 = new Linear(w.Sub("text_embedder.linear_1"), textEmbedDim, dim);
        _text2 = new Linear(w.Sub("text_embedder.linear_2"), dim, dim);
        if (imageEmbedDim is int img) _imageEmbedder = new WanImageEmbedding(w.Sub("image_embedder"), img, dim, posEmbedSeqLen);
    }

    /// <param name="timestep">[batch] or, with per-token timesteps, [batch, tokens].</param>
    /// <returns>temb ([batch, dim] or [batch, tokens, dim]), the modulation ([batch, 6, dim] or [batch, tokens, 6, dim]),
    /// projected text tokens, and projected image tokens (or null).</returns>
    public (Tensor Temb, Tensor TimestepProj, Tensor Text, Tensor? Image) Forward(Tensor timestep, bool perToken, Tensor text, Tensor? image)
    {
        var temb = Temb(timestep, perToken);
        var proj = _timeProj.Forward(temb.Silu());
        proj = perToken ? proj.Reshape(0, 0, 6, _dim) : proj.Reshape(0, 6, _dim);
        var textOut = _text2.Forward(_text1.Forward(text).Gelu(tanhApproximation: true));
        return (temb, proj, textOut, image is null ? null : _imageEmbedder!.Forward(image));
    }

    /// <summary>temb = time_embedder(timesteps_proj(timestep)): [batch, dim], or [batch, tokens, dim] per token.</summary>
    public Tensor Temb(Tensor timestep, bool perToken)
    {
        Tensor flat = perToken ? timestep.Reshape(-1) : timestep;
        var t = _timestepsProj.Forward(flat);
        if (perToken) t = t.Reshape(timestep.Size(0), -1, t.Size(1));
        return _timeEmbedder.Forward(t);
    }
}

/// <summary>WanImageEmbedding: LayerNorm → FeedForward (GELU) → LayerNorm over CLIP image tokens.</summary>
public sealed class WanImageEmbedding
{
    readonly LayerNorm _norm1, _norm2;
    readonly FeedForward _ff;
    readonly Tensor? _posEmbed;

    public WanImageEmbedding(Weights w, int inFeatures, int outFeatures, int? posEmbedSeqLen)
    {
        _norm1 = new LayerNorm(w.Sub("norm1"), inFeatures, 1e-5f, elementwiseAffine: true);
        _ff = new FeedForward(w.Sub("ff"), inFeatures, inFeatures, outFeatures, tanhGelu: false);
        _norm2 = new LayerNorm(w.Sub("norm2"), outFeatures, 1e-5f, elementwiseAffine: true);
        if (posEmbedSeqLen is int n) _posEmbed = w.Get("pos_embed", [1, n, inFeatures]);
    }

    public Tensor Forward(Tensor image)
    {
        if (_posEmbed is not null) image = image.Reshape(-1, _posEmbed.Size(1), image.Size(2)) + _posEmbed;
        return _norm2.Forward(_ff.Forward(_norm1.Forward(image)));
    }
}
