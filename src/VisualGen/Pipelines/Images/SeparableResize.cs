using VisualGen.Tensors;

namespace VisualGen.Pipelines.Images;

/// <summary>
/// Separable resampling of a [height, width, 3] float image in [0, 1], as PIL's resize computes it for 8-bit images
/// (Pillow's libImaging/Resample.c, the path diffusers' and transformers' image processors take): the image as 8-bit
/// levels, per output pixel the filter's weights around its centre (o + 0.5)·scale, the filter widened by the scale when
/// downscaling, normalized to sum 1, then as fixed-point integers of 22 fractional bits; a horizontal pass (where the width
/// changes), then a vertical one (where the height does), each rounding to 8-bit levels. <see cref="Bicubic"/> is PIL's
/// BICUBIC (Keys kernel, a = −0.5, support 2), <see cref="Lanczos"/> PIL's LANCZOS (sinc(x)·sinc(x/3), support 3). The
/// result holds levels / 255, the floats PIL's image gives the processors; images already of the target size pass through
/// untouched.
/// </summary>
public static class SeparableResize
{
    public static HostTensor Bicubic(HostTensor image, int height, int width) => Resize(image, height, width, BicubicKernel, 2.0);

    public static HostTensor Lanczos(HostTensor image, int height, int width) => Resize(image, height, width, LanczosKernel, 3.0);

    const int PrecisionBits = 32 - 8 - 2;  // PIL's: 8 bits of result, 2 for the filters' negative lobes and overshoot

    static HostTensor Resize(HostTensor image, int height, int width, Func<double, double> kernel, double support)
    {
        int h = (int)image.Shape[0], w = (int)image.Shape[1];
        if (h == height && w == width) return image;
        var levels = image.Floats.Select(v => (int)Math.Clamp(Math.Round(v * 255.0), 0, 255)).ToArray();
        if (w != width) levels = Pass(levels, h, w, width, horizontalAxis: true, kernel, support);
        if (h != height) levels = Pass(levels, h, width, height, horizontalAxis: false, kernel, support);
        return HostTensor.Float32(levels.Select(l => l / 255f).ToArray(), height, width, 3);
    }

    static int[] Pass(int[] src, int h, int w, int outSize, bool horizontalAxis, Func<double, double> kernel, double kernelSupport)
    {
        int inSize = horizontalAxis ? w : h;
        double scale = (double)inSize / outSize, filterScale = Math.Max(scale, 1.0), support = kernelSupport * filterScale;
        double inverse = 1.0 / filterScale;
        int oh = horizontalAxis ? h : outSize, ow = horizontalAxis ? outSize : w;
        var dst = new int[oh * ow * 3];
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale;
            int lo = Math.Max(0, (int)(center - support + 0.5)), hi = Math.Min(inSize, (int)(center + support + 0.5));
            var weights = new double[Math.Max(hi - lo, 0)];
            double total = 0;
            for (int i = lo; i < hi; i++) total += weights[i - lo] = kernel((i - center + 0.5) * inverse);
            // normalized, then fixed point rounded away from zero, as PIL's normalize_coeffs_8bpc
            var fixedPoint = weights.Select(k => total != 0 ? k / total : k)
                .Select(k => (int)(k < 0 ? -0.5 + k * (1 << PrecisionBits) : 0.5 + k * (1 << PrecisionBits))).ToArray();
            for (int line = 0; line < (horizontalAxis ? h : w); line++)
                for (int c = 0; c < 3; c++)
                {
                    int acc = 1 << (PrecisionBits - 1);
                    for (int i = lo; i < hi; i++)
                        acc += fixedPoint[i - lo] * (horizontalAxis ? src[(line * w + i) * 3 + c] : src[(i * w + line) * 3 + c]);
                    int v = Math.Clamp(acc >> PrecisionBits, 0, 255);
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

    static double LanczosKernel(double x) => x >= -3.0 && x < 3.0 ? Sinc(x) * Sinc(x / 3.0) : 0.0;
}
