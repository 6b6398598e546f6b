using System.Text;

namespace VisualGen.Tokenizers;

/// <summary>
/// SentencePiece's BPE encoding of one normalized segment (bpe_model.cc): the text split into characters (user-defined
/// pieces kept whole), then the adjacent pair whose concatenation is the highest-scoring piece merged first, the leftmost
/// pair on equal scores; unused pieces resegmented into the pieces they were merged from; a piece outside the vocabulary
/// spelled as byte pieces (&lt;0xNN&gt;) with byte fallback, else the unknown id.
/// </summary>
/// <remarks>
/// Microsoft.ML.Tokenizers 2.0.1's SentencePiece BPE merges the rightmost pair on equal scores, so a run such as "eee"
/// became "e" + "ee" where SentencePiece and Hugging Face give "ee" + "e".
/// </remarks>
internal sealed class SentencePieceBpe
{
    const int TypeNormal = 1, TypeUserDefined = 4, TypeUnused = 5, TypeByte = 6;

    readonly Dictionary<string, (int Id, float Score, int Type)> _pieces = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> _reserved = new(StringComparer.Ordinal);
    readonly string[] _userDefined;
    readonly int[] _byteIds;
    readonly int _unknownId;

    public SentencePieceBpe(IReadOnlyList<SentencePieceModelPatch.Piece> pieces, int unknownId)
    {
        _unknownId = unknownId;
        _byteIds = new int[256];
        Array.Fill(_byteIds, -1);
        var userDefined = new List<string>();
        for (int id = 0; id < pieces.Count; id++)
        {
            var p = pieces[id];
            // bpe_model / model_interface: normal, user-defined and unused pieces take part in merges; the rest are reserved
            if (p.Type is TypeNormal or TypeUserDefined or TypeUnused) _pieces.TryAdd(p.Text, (id, p.Score, p.Type));
            else _reserved.TryAdd(p.Text, id);
            if (p.Type == TypeUserDefined) userDefined.Add(p.Text);
            if (p.Type == TypeByte && p.Text.Length == 6 && p.Text.StartsWith("<0x", StringComparison.Ordinal)
                && byte.TryParse(p.Text.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b)) _byteIds[b] = id;
        }
        _userDefined = [.. userDefined.OrderByDescending(u => u.Length)];
        ByteFallback = _byteIds.All(id => id >= 0);
    }

    public bool ByteFallback { get; }

    struct Symbol { public int Prev, Next, Start, Length; }

    /// <summary>Appends the ids of <paramref name="text"/> (already normalized: spaces as U+2581) to <paramref name="ids"/>.</summary>
    public void Encode(string text, List<int> ids)
    {
        if (text.Length == 0) return;
        var symbols = new List<Symbol>();
        for (int i = 0; i < text.Length;)
        {
            int len = UserDefinedAt(text, i);
            if (len == 0) len = char.IsSurrogatePair(text, i) ? 2 : 1;
            symbols.Add(new Symbol { Prev = symbols.Count - 1, Next = i + len < text.Length ? symbols.Count + 1 : -1, Start = i, Length = len });
            i += len;
        }
        var syms = symbols.ToArray();
        // highest score first, then the leftmost pair (bpe_model.cc's SymbolPairComparator)
        var agenda = new PriorityQueue<(int Left, int Right, int Length), (float NegScore, int Left)>();
        Dictionary<string, (string Left, string Right)>? revMerge = null;

        void TryAdd(int left, int right)
        {
            if (left < 0 || right < 0) return;
            string piece = text.Substring(syms[left].Start, syms[left].Length + syms[right].Length);
            if (!_pieces.TryGetValue(piece, out var info)) return;
            agenda.Enqueue((left, right, piece.Length), (-info.Score, left));
            if (info.Type == TypeUnused)
            {
                revMerge ??= new(StringComparer.Ordinal);
                revMerge[piece] = (text.Substring(syms[left].Start, syms[left].Length), text.Substring(syms[right].Start, syms[right].Length));
            }
        }

        for (int i = 1; i < syms.Length; i++) TryAdd(i - 1, i);
        while (agenda.TryDequeue(out var top, out _))
        {
            ref var l = ref syms[top.Left];
            ref var r = ref syms[top.Right];
            if (l.Length == 0 || r.Length == 0 || l.Length + r.Length != top.Length) continue;   // stale
            l.Length += r.Length;
            l.Next = r.Next;
            if (r.Next >= 0) syms[r.Next].Prev = top.Left;
            r.Length = 0;
            TryAdd(l.Prev, top.Left);
            TryAdd(top.Left, l.Next);
        }

        for (int i = 0; i >= 0; i = syms[i].Next)
            Resegment(text.Substring(syms[i].Start, syms[i].Length), revMerge, ids);
    }

    void Resegment(string piece, Dictionary<string, (string Left, string Right)>? revMerge, List<int> ids)
    {
        int id = _pieces.TryGetValue(piece, out var info) ? info.Id : _reserved.TryGetValue(piece, out int r) ? r : -1;
        if (id >= 0 && info.Type == TypeUnused && revMerge is not null && revMerge.TryGetValue(piece, out var split))
        {
            Resegment(split.Left, revMerge, ids);
            Resegment(split.Right, revMerge, ids);
            return;
        }
        if (id >= 0 && !(_reserved.ContainsKey(piece) && id == _unknownId)) { ids.Add(id); return; }
        if (ByteFallback) foreach (byte b in Encoding.UTF8.GetBytes(piece)) ids.Add(_byteIds[b]);
        else ids.Add(_unknownId);
    }

    int UserDefinedAt(string text, int at)
    {
        foreach (var u in _userDefined)
            if (string.CompareOrdinal(text, at, u, 0, u.Length) == 0 && at + u.Length <= text.Length) return u.Length;
        return 0;
    }
}
