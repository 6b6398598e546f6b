using Google.Protobuf;

namespace VisualGen.Demo;

/// <summary>The type of a SentencePiece piece (sentencepiece_model.proto, <c>SentencePiece.Type</c>).</summary>
internal enum PieceType { Normal = 1, Unknown = 2, Control = 3 }

/// <summary>One vocabulary entry: the piece text ("▁" marks a word start), its log-probability score and type.</summary>
internal sealed record Piece(string Text, float Score, PieceType Type = PieceType.Normal);

/// <summary>
/// Writes a SentencePiece Unigram <c>ModelProto</c> (spiece.model) with the identity normalizer, field by field per
/// sentencepiece_model.proto: ModelProto { pieces = 1, trainer_spec = 2, normalizer_spec = 3 };
/// SentencePiece { piece = 1, score = 2, type = 3 }; TrainerSpec { model_type = 3, vocab_size = 4,
/// unk_id = 40, bos_id = 41, eos_id = 42, pad_id = 43, unk_piece = 45, eos_piece = 47, pad_piece = 48 };
/// NormalizerSpec { name = 1, add_dummy_prefix = 3, remove_extra_whitespaces = 4, escape_whitespaces = 5 }.
/// </summary>
internal static class SentencePieceModelWriter
{
    const int ModelTypeUnigram = 1;

    public static byte[] Write(IReadOnlyList<Piece> pieces, int unkId, int eosId, int padId)
    {
        var top = new MemoryStream();
        var output = new CodedOutputStream(top);
        foreach (var piece in pieces)
            WriteMessage(output, 1, o =>
            {
                o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString(piece.Text);
                o.WriteTag(2, WireFormat.WireType.Fixed32); o.WriteFloat(piece.Score);
                if (piece.Type != PieceType.Normal) { o.WriteTag(3, WireFormat.WireType.Varint); o.WriteEnum((int)piece.Type); }
            });
        WriteMessage(output, 2, o =>
        {
            o.WriteTag(3, WireFormat.WireType.Varint); o.WriteEnum(ModelTypeUnigram);
            o.WriteTag(4, WireFormat.WireType.Varint); o.WriteInt32(pieces.Count);
            o.WriteTag(40, WireFormat.WireType.Varint); o.WriteInt32(unkId);
            o.WriteTag(41, WireFormat.WireType.Varint); o.WriteInt32(-1); // T5 has no BOS piece
            o.WriteTag(42, WireFormat.WireType.Varint); o.WriteInt32(eosId);
            o.WriteTag(43, WireFormat.WireType.Varint); o.WriteInt32(padId);
            o.WriteTag(45, WireFormat.WireType.LengthDelimited); o.WriteString(pieces[unkId].Text);
            o.WriteTag(47, WireFormat.WireType.LengthDelimited); o.WriteString(pieces[eosId].Text);
            o.WriteTag(48, WireFormat.WireType.LengthDelimited); o.WriteString(pieces[padId].Text);
        });
        WriteMessage(output, 3, o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString("identity");
            o.WriteTag(3, WireFormat.WireType.Varint); o.WriteBool(true);
            o.WriteTag(4, WireFormat.WireType.Varint); o.WriteBool(true);
            o.WriteTag(5, WireFormat.WireType.Varint); o.WriteBool(true);
        });
        output.Flush();
        return top.ToArray();
    }

    static void WriteMessage(CodedOutputStream output, int field, Action<CodedOutputStream> body)
    {
        var buffer = new MemoryStream();
        var inner = new CodedOutputStream(buffer);
        body(inner);
        inner.Flush();
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(buffer.ToArray()));
    }
}
