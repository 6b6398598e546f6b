namespace VisualGen.Tokenizers;

/// <summary>
/// Rewrites <c>trainer_spec.bos_id</c> of a SentencePiece <c>ModelProto</c> (spiece.model).
/// </summary>
/// <remarks>
/// Why: T5/UMT5 models are trained without a BOS piece, so spiece.model stores <c>bos_id = -1</c>.
/// Microsoft.ML.Tokenizers 2.0.1 indexes the vocabulary with that id while loading and throws
/// IndexOutOfRangeException. BOS is never emitted for T5 (the tokenizer is created with
/// addBeginningOfSentence: false), so pointing bos_id at the unknown-piece id loads the model without
/// changing any encoding.
/// How: Google.Protobuf is not a dependency of this library, and only one varint moves, so this
/// walks the wire format by hand. sentencepiece_model.proto: ModelProto field 2 = trainer_spec
/// (a length-delimited TrainerSpec); in TrainerSpec, field 40 = unk_id, field 41 = bos_id (int32
/// varints; -1 is written as a 10-byte varint). Every other byte is copied unchanged.
/// </remarks>
internal static class SentencePieceModelPatch
{
    const int ModelProtoTrainerSpec = 2;
    const int TrainerSpecUnkId = 40;
    const int TrainerSpecBosId = 41;
    const int WireVarint = 0, WireFixed64 = 1, WireLengthDelimited = 2, WireFixed32 = 5;

    /// <summary>The model bytes with a negative bos_id replaced by unk_id (unk_id's default is 0); the input itself when bos_id is not negative.</summary>
    public static byte[] WithBosIdDefined(byte[] model, string path)
    {
        var fields = Parse(model, path, "ModelProto");
        var trainer = fields.FirstOrDefault(f => f.Number == ModelProtoTrainerSpec && f.Wire == WireLengthDelimited);
        if (trainer.Length == 0 && trainer.Number == 0) return model;
        var trainerBytes = model.AsSpan(trainer.PayloadStart, trainer.PayloadLength).ToArray();
        var trainerFields = Parse(trainerBytes, path, "TrainerSpec");
        var bos = trainerFields.Where(f => f.Number == TrainerSpecBosId && f.Wire == WireVarint).ToList();
        if (bos.Count == 0 || bos.All(f => (long)f.Value >= 0)) return model;
        var unk = trainerFields.LastOrDefault(f => f.Number == TrainerSpecUnkId && f.Wire == WireVarint);
        ulong unkId = unk.Number == TrainerSpecUnkId ? unk.Value : 0;

        var newTrainer = new MemoryStream(trainerBytes.Length);
        foreach (var f in trainerFields)
        {
            if (f.Number == TrainerSpecBosId && f.Wire == WireVarint)
            {
                WriteVarint(newTrainer, ((ulong)TrainerSpecBosId << 3) | WireVarint);
                WriteVarint(newTrainer, unkId);
            }
            else newTrainer.Write(trainerBytes, f.Start, f.Length);
        }

        var result = new MemoryStream(model.Length);
        foreach (var f in fields)
        {
            if (f.Start == trainer.Start)
            {
                WriteVarint(result, ((ulong)ModelProtoTrainerSpec << 3) | WireLengthDelimited);
                WriteVarint(result, (ulong)newTrainer.Length);
                newTrainer.Position = 0;
                newTrainer.CopyTo(result);
            }
            else result.Write(model, f.Start, f.Length);
        }
        return result.ToArray();
    }

    /// <summary>One vocabulary entry of a ModelProto: its text, score and type (sentencepiece_model.proto's
    /// SentencePiece.Type: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte).</summary>
    public readonly record struct Piece(string Text, float Score, int Type);

    const int ModelProtoPieces = 1;
    const int PieceText = 1, PieceScore = 2, PieceType = 3;

    /// <summary>The pieces of a ModelProto, in id order (ModelProto field 1 = repeated SentencePiece).</summary>
    public static List<Piece> Pieces(byte[] model, string path)
    {
        var pieces = new List<Piece>();
        foreach (var f in Parse(model, path, "ModelProto"))
        {
            if (f.Number != ModelProtoPieces || f.Wire != WireLengthDelimited) continue;
            var bytes = model.AsSpan(f.PayloadStart, f.PayloadLength).ToArray();
            string text = "";
            float score = 0;
            int type = 1;   // NORMAL is the default
            foreach (var g in Parse(bytes, path, "SentencePiece"))
            {
                if (g.Number == PieceText && g.Wire == WireLengthDelimited) text = System.Text.Encoding.UTF8.GetString(bytes, g.PayloadStart, g.PayloadLength);
                else if (g.Number == PieceScore && g.Wire == WireFixed32) score = BitConverter.ToSingle(bytes, g.PayloadStart);
                else if (g.Number == PieceType && g.Wire == WireVarint) type = (int)g.Value;
            }
            pieces.Add(new Piece(text, score, type));
        }
        return pieces;
    }

    /// <summary>One field on the wire: where it starts and its total length (key included), its varint value, its payload.</summary>
    readonly record struct Field(int Number, int Wire, int Start, int Length, ulong Value, int PayloadStart, int PayloadLength);

    static List<Field> Parse(byte[] data, string path, string message)
    {
        var fields = new List<Field>();
        int i = 0;
        while (i < data.Length)
        {
            int start = i;
            ulong key = ReadVarint(data, ref i, path, message);
            int number = (int)(key >> 3), wire = (int)(key & 7);
            ulong value = 0;
            int payloadStart = i, payloadLength = 0;
            switch (wire)
            {
                case WireVarint: value = ReadVarint(data, ref i, path, message); break;
                case WireFixed64: payloadLength = 8; i += 8; break;
                case WireFixed32: payloadLength = 4; i += 4; break;
                case WireLengthDelimited:
                    ulong len = ReadVarint(data, ref i, path, message);
                    if (len > (ulong)(data.Length - i)) throw Bad(path, message, start, "length runs past the end");
                    payloadStart = i; payloadLength = (int)len; i += (int)len;
                    break;
                default: throw Bad(path, message, start, $"unsupported wire type {wire}");
            }
            if (i > data.Length) throw Bad(path, message, start, "field runs past the end");
            fields.Add(new Field(number, wire, start, i - start, value, payloadStart, payloadLength));
        }
        return fields;
    }

    static ulong ReadVarint(byte[] data, ref int i, string path, string message)
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (i >= data.Length) throw Bad(path, message, i, "varint runs past the end");
            byte b = data[i++];
            result |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return result;
        }
        throw Bad(path, message, i, "varint longer than 10 bytes");
    }

    static void WriteVarint(Stream s, ulong v)
    {
        while (v >= 0x80) { s.WriteByte((byte)(v | 0x80)); v >>= 7; }
        s.WriteByte((byte)v);
    }

    static Checkpoints.CheckpointException Bad(string path, string message, int offset, string problem) =>
        new(path, $"not a SentencePiece model: {message} at byte {offset}: {problem}");
}
