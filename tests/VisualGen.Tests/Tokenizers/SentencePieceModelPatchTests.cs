using VisualGen.Tokenizers;

namespace VisualGen.Tests.Tokenizers;

public class SentencePieceModelPatchTests
{
    // ModelProto { pieces(1) = "x", trainer_spec(2) = { model_type(3) = 1, unk_id(40) = 2, bos_id(41) = -1, eos_id(42) = 1 }, normalizer_spec(3) = "n" }
    static byte[] Model(bool negativeBos)
    {
        var trainer = new List<byte> { 3 << 3, 1, 0xC0, 0x02, 2 };                   // field 3 = 1; key(40) = 0x140 → C0 02; value 2
        trainer.AddRange(new byte[] { 0xC8, 0x02 });                                   // key(41, varint) = 0x148
        trainer.AddRange(negativeBos ? [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01] : new byte[] { 0x01 });
        trainer.AddRange(new byte[] { 0xD0, 0x02, 1 });                                // key(42) = 0x150; value 1
        var model = new List<byte> { (1 << 3) | 2, 1, (byte)'x', (2 << 3) | 2, (byte)trainer.Count };
        model.AddRange(trainer);
        model.AddRange(new byte[] { (3 << 3) | 2, 1, (byte)'n' });
        return model.ToArray();
    }

    [Fact]
    public void NegativeBosIdBecomesUnkIdAndNothingElseChanges()
    {
        var patched = SentencePieceModelPatch.WithBosIdDefined(Model(negativeBos: true), "test.model");
        var expected = new List<byte> { (1 << 3) | 2, 1, (byte)'x', (2 << 3) | 2, 11, 3 << 3, 1, 0xC0, 0x02, 2, 0xC8, 0x02, 2, 0xD0, 0x02, 1, (3 << 3) | 2, 1, (byte)'n' };
        Assert.Equal(expected.ToArray(), patched);
    }

    [Fact]
    public void NonNegativeBosIdIsLeftAlone()
    {
        var model = Model(negativeBos: false);
        Assert.Same(model, SentencePieceModelPatch.WithBosIdDefined(model, "test.model"));
    }

    [Fact]
    public void TruncatedModelIsAnErrorNamingTheFile()
    {
        var model = Model(negativeBos: true);
        var e = Assert.Throws<VisualGen.Checkpoints.CheckpointException>(() => SentencePieceModelPatch.WithBosIdDefined(model[..8], "broken.model"));
        Assert.Contains("broken.model", e.Message);
    }
}
