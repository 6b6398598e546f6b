using System.Text.Json.Nodes;
using VisualGen.Engines;
using VisualGen.Pipelines;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>Which transformer graphs LTX2Pipeline asks for per guidance setting, and that the spatio-temporal and
/// cross-timestep settings reach the calls (on a copy of the ltx2 fixture with perturbed_attn switched on).</summary>
public class Ltx2PipelineCallKindsTests
{
    sealed class RecordingProvider(IEngineProvider inner) : IEngineProvider
    {
        public List<string> Requested { get; } = [];

        public IEngine GetEngine(string modelPath, string component, IProgress<string>? progress)
        {
            Requested.Add(component);
            return inner.GetEngine(modelPath, component, progress);
        }

        public void Release(IEngine engine) => inner.Release(engine);
    }

    static (GenerationResult Result, List<string> Requested) Run(string checkpoint, Func<GenerationRequest, GenerationRequest> change)
    {
        using var golden = Fixtures.Golden("ltx2");
        var request = change(ConformancePipelines.RequestFromGolden("ltx2", golden));
        using var inner = ConformancePipelines.Provider();
        var recording = new RecordingProvider(inner);
        using var pipeline = ModelFamilies.CreateRegistry().Create(checkpoint, recording);
        return (pipeline.GenerateAsync(request).GetAwaiter().GetResult(), recording.Requested);
    }

    /// <summary>The fixture's checkpoint copied with perturbed_attn = true (the STG blocks then perturb self-attention).</summary>
    static string PerturbedCheckpoint()
    {
        string dir = Path.Combine(Fixtures.TempDir("ltx2-perturbed"), "checkpoint");
        string from = Fixtures.Checkpoint("ltx2");
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(dir, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        string config = Path.Combine(dir, "transformer", "config.json");
        var json = JsonNode.Parse(File.ReadAllText(config))!;
        json["perturbed_attn"] = true;
        File.WriteAllText(config, json.ToJsonString());
        return dir;
    }

    static double MaxAbs(HostTensor a, HostTensor b) => Compare.MaxAbs(a.Floats, b.Floats);

    [ConformanceFact]
    public void The_default_stg_block_beyond_a_small_model_perturbs_nothing_as_in_diffusers()
    {
        // LTX-2's default [28] on a 2-block model (perturbed_attn on): no STG call, the same result as stg_scale 0;
        // a block the caller names must exist
        string dir = PerturbedCheckpoint();
        var (byDefault, requested) = Run(dir, r => r with { SpatioTemporalGuidanceBlocks = null });
        Assert.DoesNotContain(requested, c => c.Contains("stg", StringComparison.Ordinal));
        var (off, _) = Run(dir, r => r with { SpatioTemporalGuidanceBlocks = null, StgScale = 0, AudioStgScale = 0 });
        Assert.Equal(off.Latents.Floats, byDefault.Latents.Floats);
        var (named, namedRequested) = Run(dir, r => r with { SpatioTemporalGuidanceBlocks = [1] });
        Assert.Contains(namedRequested, c => c.Contains("stg_1", StringComparison.Ordinal));
        Assert.True(MaxAbs(named.Latents, byDefault.Latents) > 1e-6, "a perturbed block changes the result");
    }

    [ConformanceFact]
    public void Fixture_runs_the_batched_call_and_the_isolated_call_and_skips_an_stg_call_that_perturbs_nothing()
    {
        var (result, requested) = Run(Fixtures.Checkpoint("ltx2"), r => r);
        ConformancePipelines.AssertMatchesGolden("ltx2", result);
        Assert.Equal(["audio_vae.decoder", "connectors", "text_encoder", "transformer", "transformer.isolated", "vae.decoder", "vocoder"],
            requested.Distinct().Order(StringComparer.Ordinal));
    }

    [ConformanceFact]
    public void Stg_on_a_perturbed_attn_checkpoint_runs_its_own_graph_and_changes_the_result()
    {
        string checkpoint = PerturbedCheckpoint();
        var (stg, requested) = Run(checkpoint, r => r);
        Assert.Contains("transformer.stg_1", requested);
        using var golden = Fixtures.Golden("ltx2");
        var unperturbed = HostTensor.FromSource(golden, "pipeline.latents_final");
        Assert.True(MaxAbs(unperturbed, stg.Latents) > 1e-3, "perturbing block 1 should move the latents");
        Assert.All(stg.Latents.Floats, v => Assert.True(float.IsFinite(v)));

        // with both STG scales 0 there is no STG call, and perturbed_attn changes nothing
        var (off, requestedOff) = Run(checkpoint, r => r with { StgScale = 0, AudioStgScale = 0 });
        var (reference, _) = Run(Fixtures.Checkpoint("ltx2"), r => r with { StgScale = 0, AudioStgScale = 0 });
        Assert.DoesNotContain(requestedOff, c => c.StartsWith("transformer.stg", StringComparison.Ordinal));
        Assert.True(MaxAbs(reference.Latents, off.Latents) <= 1e-6);
        Assert.True(MaxAbs(reference.AudioLatents!, off.AudioLatents!) <= 1e-6);
    }

    [ConformanceFact]
    public void Use_cross_timestep_false_and_no_guidance_select_their_graphs()
    {
        var (noCross, requested) = Run(Fixtures.Checkpoint("ltx2"), r => r with { UseCrossTimestep = false });
        Assert.Contains("transformer.no_cross_timestep", requested);
        Assert.Contains("transformer.isolated_no_cross_timestep", requested);
        Assert.DoesNotContain("transformer", requested);
        using var golden = Fixtures.Golden("ltx2");
        // LTX2Pipeline gives both streams the same timestep and sigma, so the cross-modal modulation reads the same value
        // either way: the graphs differ, the result does not
        Assert.True(MaxAbs(HostTensor.FromSource(golden, "pipeline.latents_final"), noCross.Latents) <= 1e-3);

        // no guidance at all: one unbatched call per step, no negative prompt encoded
        var (plain, plainRequested) = Run(Fixtures.Checkpoint("ltx2"), r => r with
        {
            GuidanceScale = 1, AudioGuidanceScale = 1, StgScale = 0, AudioStgScale = 0, ModalityScale = 1, AudioModalityScale = 1,
        });
        Assert.Equal(["audio_vae.decoder", "connectors", "text_encoder", "transformer", "vae.decoder", "vocoder"],
            plainRequested.Distinct().Order(StringComparer.Ordinal));
        Assert.Equal([1, 4, 5, 16, 16], plain.Latents.Shape);
    }

    /// <summary>Unpacked video latents [1, C, F, H, W] are normalized with the VAE's statistics and packed, as diffusers
    /// does: the fixture's packed latents, unpacked and de-normalized, give the same result.</summary>
    [ConformanceFact]
    public void Unpacked_video_latents_are_normalized_and_packed()
    {
        using var weights = VisualGen.Checkpoints.ComponentWeights.Open(Path.Combine(Fixtures.Checkpoint("ltx2"), "vae"));
        float[] mean = weights.ReadFloat32("latents_mean"), std = weights.ReadFloat32("latents_std");
        var (result, _) = Run(Fixtures.Checkpoint("ltx2"), r => r with
        {
            Latents = VisualGen.Pipelines.Ltx2.Ltx2Latents.DenormalizeVideo(
                VisualGen.Pipelines.Ltx2.Ltx2Latents.UnpackVideo(r.Latents!, 5, 16, 16, 1, 1), mean, std, 1f),
        });
        ConformancePipelines.AssertMatchesGolden("ltx2", result);
    }
}
