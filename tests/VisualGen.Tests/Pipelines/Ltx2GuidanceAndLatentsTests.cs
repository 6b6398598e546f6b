using VisualGen.Pipelines.Ltx2;
using VisualGen.Tensors;

namespace VisualGen.Tests.Pipelines;

/// <summary>LTX2Pipeline's guidance combination, latent packing and transformer call names against values worked out
/// by hand.</summary>
public class Ltx2GuidanceAndLatentsTests
{
    [Fact]
    public void Velocity_and_x0_convert_with_the_step_sigma()
    {
        float[] sample = [1f, 2f], velocity = [0.5f, -1f];
        var x0 = Ltx2Guidance.VelocityToX0(sample, velocity, 0.5f);
        Assert.Equal([0.75f, 2.5f], x0);                               // 1 − 0.5·0.5, 2 + 1·0.5
        Assert.Equal(velocity, Ltx2Guidance.X0ToVelocity(sample, x0, 0.5f));
    }

    [Fact]
    public void Guidance_terms_add_in_x0_space()
    {
        float[] cond = [1f, 2f, 3f], uncond = [0f, 1f, 1f], perturbed = [1f, 1f, 2f], isolated = [2f, 2f, 2f];
        var s = new Ltx2GuidanceScales(Cfg: 3, Stg: 0.5, Modality: 2, Rescale: 0);
        // cond + (3−1)(cond−uncond) + 0.5(cond−perturbed) + (2−1)(cond−isolated)
        //   = [1+2+0−1, 2+2+0.5+0, 3+4+0.5+1] = [2, 4.5, 8.5]
        Assert.Equal([2f, 4.5f, 8.5f], Ltx2Guidance.Combine(cond, uncond, perturbed, isolated, s));
        // calls not made contribute nothing
        Assert.Equal([3f, 4f, 7f], Ltx2Guidance.Combine(cond, uncond, null, null, s));
        Assert.Equal(cond, Ltx2Guidance.Combine(cond, null, null, null, s));
    }

    [Fact]
    public void Guidance_scales_that_switch_terms_off_add_nothing()
    {
        float[] cond = [1f, -2f], other = [5f, 7f];
        var off = new Ltx2GuidanceScales(Cfg: 1, Stg: 0, Modality: 1, Rescale: 0);
        Assert.False(off.UsesCfg || off.UsesStg || off.UsesModality);
        Assert.Equal(cond, Ltx2Guidance.Combine(cond, other, other, other, off));
    }

    [Fact]
    public void Rescale_matches_the_std_of_the_conditional_prediction()
    {
        // cond [0, 2]: unbiased std √2; guided [0, 4]: std 2√2 → ratio ½; φ = 0.5 → 0.5·[0, 2] + 0.5·[0, 4] = [0, 3]
        float[] cond = [0f, 2f], guided = [0f, 4f];
        Assert.Equal(Math.Sqrt(2), Ltx2Guidance.Std(cond), 12);
        var r = Ltx2Guidance.Rescale(guided, cond, 0.5);
        Assert.Equal(0f, r[0]);
        Assert.Equal(3f, r[1], 6);
        // φ = 1 gives the std-matched prediction, φ = 0 the guided one
        Assert.Equal(2f, Ltx2Guidance.Rescale(guided, cond, 1.0)[1], 6);
        Assert.Equal(4f, Ltx2Guidance.Rescale(guided, cond, 0.0)[1], 6);
        // Combine applies it when rescale > 0: cfg 2 on cond [0, 2], uncond [0, 0] → guided [0, 4] → [0, 3]
        Assert.Equal(3f, Ltx2Guidance.Combine(cond, [0f, 0f], null, null, new Ltx2GuidanceScales(2, 0, 1, 0.5))[1], 6);
    }

    [Fact]
    public void Video_latents_pack_into_patch_tokens_and_back()
    {
        // [1, 2, 2, 2, 4] (channels, frames, height, width) with value = c·100 + f·10 + h·4 + w... indexed distinctly
        long[] shape = [1, 2, 2, 2, 4];
        var data = Enumerable.Range(0, 32).Select(i => (float)i).ToArray();
        var x = HostTensor.Float32(data, shape);
        // patch 1×1×1: token (f, h, w), features = channels
        var packed = Ltx2Latents.PackVideo(x, 1, 1);
        Assert.Equal([1, 16, 2], packed.Shape);
        Assert.Equal([0f, 16f], packed.Floats[..2]);                  // token 0: c0 and c1 at (0, 0, 0)
        Assert.Equal([5f, 21f], packed.Floats[10..12]);               // token 5 = (f0, h1, w1): index 1·4 + 1
        // spatial patch 2, temporal 2: one token per 2×2×2 block; features c, t, y, x
        var patched = Ltx2Latents.PackVideo(x, 2, 2);
        Assert.Equal([1, 2, 16], patched.Shape);
        Assert.Equal([0f, 1f, 4f, 5f, 8f, 9f, 12f, 13f, 16f, 17f, 20f, 21f, 24f, 25f, 28f, 29f], patched.Floats[..16]);
        Assert.Equal(data, Ltx2Latents.UnpackVideo(patched, 1, 1, 2, 2, 2).Floats);
        Assert.Equal(data, Ltx2Latents.UnpackVideo(packed, 2, 2, 4, 1, 1).Floats);
    }

    [Fact]
    public void Audio_latents_pack_channels_then_mel_bins_per_frame()
    {
        // [1, 2 channels, 3 frames, 2 mel bins]: value = c·10 + l·2 + m
        var x = HostTensor.Float32([0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15], 1, 2, 3, 2);
        var packed = Ltx2Latents.PackAudio(x);
        Assert.Equal([1, 3, 4], packed.Shape);
        Assert.Equal([0f, 1f, 10f, 11f, 2f, 3f, 12f, 13f, 4f, 5f, 14f, 15f], packed.Floats);
        Assert.Equal(x.Floats, Ltx2Latents.UnpackAudio(packed, 2).Floats);
        // normalization per packed feature
        var n = Ltx2Latents.NormalizeLastAxis(packed, [0f, 1f, 10f, 11f], [1f, 1f, 2f, 2f]);
        Assert.Equal([0f, 0f, 0f, 0f, 2f, 2f, 1f, 1f], n.Floats[..8]);
        Assert.Equal(packed.Floats, Ltx2Latents.DenormalizeLastAxis(n, [0f, 1f, 10f, 11f], [1f, 1f, 2f, 2f]).Floats);
    }

    [Fact]
    public void Video_latents_normalize_per_channel()
    {
        var x = HostTensor.Float32([1, 3, 10, 30], 1, 2, 1, 1, 2);
        var n = Ltx2Latents.NormalizeVideo(x, [1f, 10f], [2f, 4f], 1f);
        Assert.Equal([0f, 1f, 0f, 5f], n.Floats);
        Assert.Equal(x.Floats, Ltx2Latents.DenormalizeVideo(n, [1f, 10f], [2f, 4f], 1f).Floats);
    }

    [Fact]
    public void Rope_coordinates_are_patch_bounds_in_pixels_and_seconds()
    {
        // 2 latent frames, 1×2 grid; scale factors (8, 32, 32), causal offset 1, 25 fps
        var v = Ltx2Latents.VideoCoords(1, 2, 1, 2, 1, 1, [8, 32, 32], 1, 25f);
        Assert.Equal([1, 3, 4, 2], v.Shape);
        // frame axis: latent 0 → [max(0+1−8, 0), max(8+1−8, 0)] / 25 = [0, 0.04]; latent 1 → [1, 9] / 25
        Assert.Equal([0f, 1f / 25f, 0f, 1f / 25f, 1f / 25f, 9f / 25f, 1f / 25f, 9f / 25f], v.Floats[..8]);
        Assert.Equal([0f, 32f, 0f, 32f, 0f, 32f, 0f, 32f], v.Floats[8..16]);       // rows
        Assert.Equal([0f, 32f, 32f, 64f, 0f, 32f, 32f, 64f], v.Floats[16..24]);    // columns
        // audio: latent i → mel [max(4i + 1 − 4, 0), 4(i + 1) + 1 − 4] · 160 / 16000 s
        var a = Ltx2Latents.AudioCoords(1, 2, 1, 4, 1, 160, 16000);
        Assert.Equal([1, 1, 2, 2], a.Shape);
        Assert.Equal([0f, 0.01f, 0.01f, 0.05f], a.Floats);
    }

    [Theory]
    [InlineData(true, false, null, "")]
    [InlineData(true, true, null, "isolated")]
    [InlineData(true, false, "28", "stg_28")]
    [InlineData(true, false, "1,2", "stg_1_2")]
    [InlineData(false, false, null, "no_cross_timestep")]
    [InlineData(false, true, null, "isolated_no_cross_timestep")]
    [InlineData(false, false, "3", "stg_3_no_cross_timestep")]
    public void Transformer_calls_name_their_part_and_read_it_back(bool cross, bool isolated, string? blocks, string part)
    {
        var call = new Ltx2TransformerCall(cross, isolated, blocks?.Split(',').Select(int.Parse).ToArray());
        Assert.Equal(part, call.Part);
        Assert.Equal(part.Length == 0 ? "transformer" : "transformer." + part, call.Component());
        Assert.True(Ltx2TransformerCall.TryParse(part, out var back));
        Assert.Equal(part, back.Part);
        Assert.Equal(cross, back.UseCrossTimestep);
        Assert.Equal(isolated, back.IsolateModalities);
    }

    [Theory]
    [InlineData("stg")]
    [InlineData("stg_")]
    [InlineData("stg_a")]
    [InlineData("stg_-1")]
    [InlineData("no_cross_timestep_isolated")]
    [InlineData("blocks_0_2")]
    [InlineData("isolated_")]
    public void Names_no_call_has_are_refused(string part)
    {
        Assert.False(Ltx2TransformerCall.TryParse(part, out _));
        Assert.Contains("names no LTX-2 transformer call", Assert.Throws<ArgumentException>(() => Ltx2TransformerCall.Parse(part)).Message);
    }
}
