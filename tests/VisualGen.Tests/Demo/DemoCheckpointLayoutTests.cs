using VisualGen.Checkpoints;
using VisualGen.Demo;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Demo;

/// <summary>The demo's weights have exactly the keys and shapes diffusers/transformers save for the same configs:
/// the conformance wan21_t2v checkpoint (saved by diffusers) has those configs.</summary>
public class DemoCheckpointLayoutTests(DemoModelFixture demo) : IClassFixture<DemoModelFixture>
{
    [ConformanceTheory]
    [InlineData("transformer")]
    [InlineData("vae")]
    [InlineData("text_encoder")]
    public void Weight_keys_and_shapes_equal_the_conformance_checkpoint(string component)
    {
        using var ours = ComponentWeights.Open(Path.Combine(demo.Directory, component));
        using var reference = ComponentWeights.Open(Path.Combine(Fixtures.Checkpoint("wan21_t2v"), component));
        var ourNames = ours.Names.Order(StringComparer.Ordinal).ToList();
        var referenceNames = reference.Names.Order(StringComparer.Ordinal).ToList();
        Assert.Equal(referenceNames, ourNames);
        foreach (var name in referenceNames)
        {
            var expected = reference.Info(name).Shape;
            if (component == "text_encoder" && name == "shared.weight")
                expected = [DemoVocabulary.Pieces.Count, expected[1]]; // the vocabulary is the demo tokenizer's
            Assert.True(expected.SequenceEqual(ours.Info(name).Shape),
                $"{component}/{name}: [{string.Join(", ", ours.Info(name).Shape)}], diffusers has [{string.Join(", ", expected)}]");
            Assert.Equal(reference.Info(name).DType, ours.Info(name).DType);
        }
    }

    [ConformanceTheory]
    [InlineData("transformer")]
    [InlineData("vae")]
    [InlineData("text_encoder")]
    public void Config_equals_the_conformance_config_except_for_noted_fields(string component)
    {
        var ours = ComponentConfig.Load(Path.Combine(demo.Directory, component));
        var reference = ComponentConfig.Load(Path.Combine(Fixtures.Checkpoint("wan21_t2v"), component));
        // Differences by design: library versions, the demo's own latent statistics and vocabulary size, and the demo's
        // rotary table (1024 as the real checkpoints, so it takes the README's 480x832x81; the fixture has 32).
        string[] differing = ["_diffusers_version", "transformers_version", "latents_mean", "latents_std", "vocab_size", "rope_max_seq_len"];
        foreach (var key in reference.Keys.Except(differing))
        {
            Assert.True(ours.Root.TryGetProperty(key, out var value), $"{component}: config lacks '{key}'");
            Assert.True(System.Text.Json.JsonElement.DeepEquals(reference.Root.GetProperty(key), value), $"{component}: '{key}' is {value}, conformance has {reference.Root.GetProperty(key)}");
        }
    }
}
