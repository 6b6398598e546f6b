using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>
/// torch.nn.GroupNorm over [batch, channels, ...spatial]: mean and (biased) variance per group of channels/groups
/// channels and all spatial positions, then the per-channel affine. Written as Reshape + ReduceMean rather than ONNX
/// GroupNormalization so every backend runs it the same way (the op's scale/bias shape changed between opsets 18
/// and 21, and not every runtime implements both).
/// </summary>
/// <param name="spatialRank">spatial axes after the channel axis (2 for images).</param>
public sealed class GroupNorm(Weights w, int numGroups, int numChannels, float eps, bool affine = true, int spatialRank = 2)
{
    readonly Tensor? _weight = affine ? w.Get("weight", [numChannels]) : null;
    readonly Tensor? _bias = affine ? w.Get("bias", [numChannels]) : null;

    public Tensor Forward(Tensor x)
    {
        if (numChannels % numGroups != 0)
            throw new Checkpoints.CheckpointException(null, $"GroupNorm: {numChannels} channels are not divisible into {numGroups} groups");
        var shape = x.Shape();
        var g = x.Reshape(0, numGroups, -1);
        var mean = g.ReduceMean([2]);
        var centered = g - mean;
        var variance = (centered * centered).ReduceMean([2]);
        var normed = x.Tracer.Op("Reshape", [centered / (variance + eps).Sqrt(), shape]);
        if (_weight is null) return normed;
        Dim[] perChannel = [numChannels, .. Enumerable.Repeat<Dim>(1, spatialRank)];
        return normed * _weight.Reshape(perChannel) + _bias!.Reshape(perChannel);
    }
}
