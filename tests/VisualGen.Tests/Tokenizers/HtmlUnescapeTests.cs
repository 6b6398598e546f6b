using VisualGen.Tokenizers.Text;

namespace VisualGen.Tests.Tokenizers;

public class HtmlUnescapeTests
{
    static readonly HtmlUnescape Html = HtmlUnescape.Create();

    // Expected values are the outputs of CPython 3's html.unescape for the same inputs.
    [Theory]
    [InlineData("&amp", "&")]
    [InlineData("&notit;", "\u00acit;")]
    [InlineData("&#150;", "\u2013")]
    [InlineData("&#x110000;", "\ufffd")]
    [InlineData("&#1;", "")]
    [InlineData("&#0;", "\ufffd")]
    [InlineData("&bogus;", "&bogus;")]
    [InlineData("&lt&gt", "<>")]
    [InlineData("&#65", "A")]
    [InlineData("&amp;amp;", "&amp;")]
    [InlineData("x &AMP y", "x & y")]
    [InlineData("&#xD800;", "\ufffd")]
    [InlineData("&#99999999999999999999;", "\ufffd")]
    [InlineData("&copy2024", "\u00a92024")]
    [InlineData("&nbsp;", "\u00a0")]
    [InlineData("no entities", "no entities")]
    public void MatchesPythonHtmlUnescape(string input, string expected) => Assert.Equal(expected, Html.Unescape(input));
}
