using VisualGen.Tensors;

namespace VisualGen.Pipelines.Images;

/// <summary>
/// Separable resampling of a [height, width, 3] float image in [0, 1], as PIL's resize computes it: per output pixel the
/// filter's weights around its centre (o + 0.5)·scale, the filter widened by the scale when downscaling, normalized to sum
/// 1; horizontal pass, then vertical. <see cref="Bicubic"/> is PIL's BICUBIC (Keys kernel, a = −0.5, support 2),
/// <see cref="Lanczos"/> PIL's LANCZOS (sinc(x)·sinc(x/3), support 3). PIL rounds to 8 bits between the two passes; this
/// keeps float32, so results differ from PIL's by up to about one gray level. Images already of the target size pass
/// through untouched.
/// </summary>
public static class SeparableResize
{
    public static HostTensor Bicubic(HostTensor image, int height, int width) => Resize(image, height, width, BicubicKernel, 2.0);

    public static HostTensor Lanczos(HostTensor image, int height, int width) => Resize(image, height, width, LanczosKernel, 3.0);

    static HostTensor Resize(HostTensor image, int height, int width, Func<double, double> kernel, double support)
    {
        int h = (int)image.Shape[0], w = (int)image.Shape[1];
        if (h == height && w == width) return image;
        var horizontal = Pass(image.Floats, h, w, width, horizontalAxis: true, kernel, support);
        var both = Pass(horizontal, h, width, height, horizontalAxis: false, kernel, support);
        return HostTensor.Float32(both, height, width, 3);
    }

    static float[] Pass(float[] src, int h, int w, int outSize, bool horizontalAxis, Func<double, double> kernel, double kernelSupport)
    {
        int inSize = horizontalAxis ? w : h;
        double scale = (double)inSize / outSize, filterScale = Math.Max(scale, 1.0), support = kernelSupport * filterScale;
        int oh = horizontalAxis ? h : outSize, ow = horizontalAxis ? outSize : w;
        var dst = new float[oh * ow * 3];
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale;
            int lo = Math.Max(0, (int)Math.Floor(center - support)), hi = Math.Min(inSize, (int)Math.Ceiling(center + support));
            var weights = new double[hi - lo];
            double total = 0;
            for (int i = lo; i < hi; i++) total += weights[i - lo] = kernel((i - center + 0.5) / filterScale);
            for (int line = 0; line < (horizontalAxis ? h : w); line++)
                for (int c = 0; c < 3; c++)
                {
                    double acc = 0;
                    for (int i = lo; i < hi; i++)
                        acc += weights[i - lo] * (horizontalAxis ? src[(line * w + i) * 3 + c] : src[(i * w + line) * 3 + c]);
                    float v = (float)Math.Clamp(acc / total, 0.0, 1.0);
                    if (horizontalAxis) dst[(line * ow + o) * 3 + c] = v; else dst[(o * ow + line) * 3 + c] = v;
                }
        }
        return dst;
    }

    static double BicubicKernel(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
    }

    static double Sinc(double x) => x == 0 ? 1.0 : Math.Sin(Math.PI * x) / (Math.PI * x);

    static double LanczosKernel(double x) => Math.Abs(x) < 3.0 ? Sinc(x) * Sinc(x / 3.0) : 0.0;
}
