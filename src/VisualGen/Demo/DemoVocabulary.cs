namespace VisualGen.Demo;

/// <summary>
/// The demo tokenizer's Unigram vocabulary: T5's special pieces (&lt;pad&gt; = 0, &lt;/s&gt; = 1, &lt;unk&gt; = 2),
/// the word-start marker "▁", a few hundred common English words as word-start pieces, some suffixes,
/// punctuation, letters (plain and word-start, both cases) and digits. Scores are log-probabilities chosen so
/// that the longest piece wins: a whole word scores about −5, a single character −9 to −11, so spelling a word
/// out never beats its piece.
/// </summary>
internal static class DemoVocabulary
{
    public const string WordStart = "\u2581";
    public const int PadId = 0, EosId = 1, UnkId = 2;

    const string Words =
        "a the of and in on at to with from by for over under into through across along around behind above below " +
        "near next between before after while as is are was be it its this that these those his her their one two three " +
        "some many few all every other another very slowly quickly gently softly up down out off away back " +
        "man woman person child girl boy people family friends dancer runner rider chef artist astronaut robot " +
        "cat dog fox wolf bear deer horse bird eagle owl duck fish whale dolphin shark turtle rabbit lion tiger elephant " +
        "butterfly bee dragon monkey panda squirrel " +
        "red orange yellow green blue purple pink white black brown gray golden silver dark bright colorful " +
        "big small tiny large tall long short old young little beautiful happy calm quiet wild soft warm cold " +
        "sky sun moon star stars cloud clouds rain snow snowy fog wind storm light shadow night day morning evening sunset sunrise " +
        "sea ocean wave waves beach sand river lake water waterfall forest tree trees leaves flower flowers grass field " +
        "meadow mountain mountains hill hills valley desert rock rocks ice island garden park road street city town " +
        "village house building bridge tower castle window door room kitchen table chair car train boat ship plane bicycle " +
        "fire smoke flame glass mirror paper book music camera video scene shot view close wide aerial " +
        "run runs running walk walks walking fly flies flying swim swims swimming jump jumps jumping dance dances dancing " +
        "sit sits sitting stand stands standing look looks looking play plays playing eat eats eating fall falls falling " +
        "move moves moving turn turns turning ride rides riding drive drives driving float floats floating glow glows glowing " +
        "sing sings smile smiles fly rise rises shine shines spin spins wave waves watch watches hold holds open opens " +
        "cinematic realistic detailed style painting photo photograph animation cartoon anime film lighting portrait " +
        "high quality motion camera slow fast time lapse background foreground center left right top bottom side " +
        "face eyes hair hand hands head body coat hat dress shirt " +
        "spring summer autumn winter space planet earth galaxy world street market crowd traffic";

    const string Capitalized = "A The In On At With From An This Two Three Close Aerial";
    const string Suffixes = "s es ed ing ly er est y";
    const string Punctuation = ". , ! ? : ; ' \" - ( ) [ ] / & % + = * # @ _";

    /// <summary>The pieces in id order.</summary>
    public static IReadOnlyList<Piece> Pieces { get; } = Build();

    static List<Piece> Build()
    {
        var pieces = new List<Piece>
        {
            new("<pad>", 0, PieceType.Control),
            new("</s>", 0, PieceType.Control),
            new("<unk>", 0, PieceType.Unknown),
            new(WordStart, -3f),
        };
        var seen = new HashSet<string>(StringComparer.Ordinal) { "<pad>", "</s>", "<unk>", WordStart };
        void Add(string text, float score) { if (seen.Add(text)) pieces.Add(new Piece(text, score)); }

        var words = Split(Words);
        for (int i = 0; i < words.Length; i++) Add(WordStart + words[i], -4f - 0.002f * i);
        foreach (var w in Split(Capitalized)) Add(WordStart + w, -5f);
        foreach (var s in Split(Suffixes)) Add(s, -7f);
        foreach (var p in Split(Punctuation)) Add(p, -8f);
        for (char c = 'a'; c <= 'z'; c++) Add(WordStart + c, -9f);
        for (char c = 'A'; c <= 'Z'; c++) Add(WordStart + c, -9.5f);
        for (char c = 'a'; c <= 'z'; c++) Add(c.ToString(), -10f);
        for (char c = 'A'; c <= 'Z'; c++) Add(c.ToString(), -10.5f);
        for (char c = '0'; c <= '9'; c++) Add(WordStart + c, -9.5f);
        for (char c = '0'; c <= '9'; c++) Add(c.ToString(), -10f);
        return pieces;
    }

    static string[] Split(string s) => s.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
