using VisualGen.Checkpoints;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Images;

/// <summary>transformers' CLIPImageProcessor from a checkpoint's preprocessor_config.json: resize the shortest edge,
/// center-crop, rescale by 1/255, normalize by mean/std; returns pixel_values [1, 3, crop_h, crop_w].</summary>
public sealed class ClipImageProcessor
{
    readonly int _shortestEdge, _cropHeight, _cropWidth;
    readonly float[] _mean, _std;

    public ClipImageProcessor(string folder)
    {
        var c = ComponentConfig.FromFile(Path.Combine(folder, "preprocessor_config.json"));
        _shortestEdge = c.GetObject("size").GetInt("shortest_edge");
        var crop = c.GetObject("crop_size");
        _cropHeight = crop.GetInt("height");
        _cropWidth = crop.GetInt("width");
        _mean = c.GetDoubleArray("image_mean").Select(v => (float)v).ToArray();
        _std = c.GetDoubleArray("image_std").Select(v => (float)v).ToArray();
    }

    /// <param name="image">[height, width, 3] in [0, 1].</param>
    public HostTensor Process(HostTensor image)
    {
        int h = (int)image.Shape[0], w = (int)image.Shape[1];
        double s = (double)_shortestEdge / Math.Min(h, w);
        int rh = h <= w ? _shortestEdge : (int)(h * s), rw = h <= w ? (int)(w * s) : _shortestEdge;
        var resized = SeparableResize.Bicubic(image, rh, rw);
        int top = (rh - _cropHeight) / 2, left = (rw - _cropWidth) / 2;
        if (top < 0 || left < 0) throw new GenerationException("image", $"image {w}x{h} is smaller than the image encoder's crop {_cropWidth}x{_cropHeight}");
        var src = resized.Floats;
        var px = new float[3 * _cropHeight * _cropWidth];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < _cropHeight; y++)
                for (int x = 0; x < _cropWidth; x++)
                    px[(c * _cropHeight + y) * _cropWidth + x] = (src[((top + y) * rw + left + x) * 3 + c] - _mean[c]) / _std[c];
        return HostTensor.Float32(px, 1, 3, _cropHeight, _cropWidth);
    }
}
