using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>
/// torch.nn.GroupNorm over [batch, channels, ...spatial] (any spatial rank): mean and (biased) variance per group of channels/groups
/// channels and all spatial positions, then the per-channel affine. Emitted as one ONNX GroupNormalization node in its
/// opset-21 form (scale and bias per channel, [channels]; statistics in float32, stash_type 1), which ONNX Runtime's
/// CPU EP runs and the native CUDA engine maps to one kernel (vg_group_norm). Without affine the scale is ones and
/// the bias zeros.
/// </summary>
public sealed class GroupNorm(Weights w, int numGroups, int numChannels, float eps, bool affine = true)
{
    readonly Tensor? _weight = affine ? w.Get("weight", [numChannels]) : null;
    readonly Tensor? _bias = affine ? w.Get("bias", [numChannels]) : null;

    public Tensor Forward(Tensor x)
    {
        if (numChannels % numGroups != 0)
            throw new Checkpoints.CheckpointException(null, $"GroupNorm: {numChannels} channels are not divisible into {numGroups} groups");
        var t = x.Tracer;
        var scale = _weight ?? t.Const(Enumerable.Repeat(1f, numChannels).ToArray(), numChannels);
        var bias = _bias ?? t.Const(new float[numChannels], numChannels);
        return t.Op("GroupNormalization", [x, scale, bias],
            new() { ["num_groups"] = (long)numGroups, ["epsilon"] = eps, ["stash_type"] = 1L });
    }
}
