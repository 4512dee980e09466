using Transformers.Evaluation;

namespace Transformers.Tests.Evaluation;

/// <summary>Expected tokenizations follow the mteval-v13a rules as documented by sacreBLEU (worked by hand).</summary>
public class Tokenizer13aTests
{
    [Theory]
    [InlineData("The dog bit the man.", "The dog bit the man .")]
    [InlineData("It wasn't surprising.", "It wasn't surprising .")] // the apostrophe (0x27) is outside 13a's punctuation ranges
    [InlineData("3.14 and 1,000 but end.", "3.14 and 1,000 but end .")]
    [InlineData("pages 10-12, ok", "pages 10 - 12 , ok")]
    [InlineData("a &amp; b &lt;c&gt; &quot;d&quot;", "a & b < c > \" d \"")]
    [InlineData("x<skipped>y", "xy")]
    [InlineData("well-\nknown\nfact", "wellknown fact")]
    [InlineData("(a+b)=c; [d]{e}|f~g@h/i", "( a + b ) = c ; [ d ] { e } | f ~ g @ h / i")]
    [InlineData("  spaced\tout  ", "spaced out")]
    public void Tokenize(string input, string expected) => Assert.Equal(expected, Tokenizer13a.Tokenize(input));

    [Fact]
    public void SplitWhitespace_UsesPythonWhitespace()
    {
        Assert.Equal(["a", "b", "c"], Tokenizer13a.SplitWhitespace("a\u001fb\u00a0 c "));
    }
}
