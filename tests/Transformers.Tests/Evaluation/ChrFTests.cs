using Transformers.Evaluation;

namespace Transformers.Tests.Evaluation;

/// <summary>Expected values are sacreBLEU's published numbers (README: chrF2 = 59.73; test/test_chrf.py).</summary>
public class ChrFTests
{
    private static IReadOnlyList<IReadOnlyList<string>> Refs(params string[][] streams) => streams;

    [Fact]
    public void ReadmeExample_ChrF2()
    {
        string[] hypotheses = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."];
        string[] reference1 = ["The dog bit the man.", "It was not unexpected.", "The man bit him first."];
        string[] reference2 = ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."];
        var chrf = ChrF.Corpus(hypotheses, Refs(reference1, reference2));
        Assert.Equal("chrF2 = 59.73", chrf.ToString());
        Assert.Equal("nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.x.x", chrf.Signature);
    }

    // test_chrf.py: char_order=6, word_order=0, beta=3, eps_smoothing=True.
    [Theory]
    [InlineData(new[] { "abcdefg" }, new[] { "hijklmnop" }, 0.0)]
    [InlineData(new[] { "a" }, new[] { "b" }, 0.0)]
    [InlineData(new[] { "" }, new[] { "b" }, 0.0)]
    [InlineData(new[] { "" }, new[] { "reference" }, 0.0)]
    [InlineData(new[] { "aa" }, new[] { "ab" }, 8.3333)]
    [InlineData(new[] { "a", "b" }, new[] { "a", "c" }, 8.3333)]
    [InlineData(new[] { "a" }, new[] { "a" }, 16.6667)]
    [InlineData(new[] { "a b c" }, new[] { "a b c" }, 50.0)]
    [InlineData(new[] { "a b c" }, new[] { "abc" }, 50.0)]
    [InlineData(new[] { " risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists ." },
                new[] { "risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists ." }, 63.361730)]
    [InlineData(new[] { " Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. " },
                new[] { "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich." }, 64.1302698)]
    [InlineData(new[] { "Niemand hat die Absicht, eine Mauer zu errichten" }, new[] { "Niemand hat die Absicht, eine Mauer zu errichten" }, 100.0)]
    public void Beta3_EpsilonSmoothing(string[] hypotheses, string[] references, double expected)
    {
        var chrf = ChrF.Corpus(hypotheses, Refs(references), new ChrFOptions { Beta = 3, EpsilonSmoothing = true });
        Assert.Equal(expected, chrf.Score, 1e-4);
    }

    // test_chrf.py, sacreBLEU < 2.0 mode (effective order, no eps smoothing), beta=3.
    [Theory]
    [InlineData(new[] { "a" }, new[] { "a" }, 100.0)]
    [InlineData(new[] { "" }, new[] { "reference" }, 0.0)]
    [InlineData(new[] { "a b c" }, new[] { "a b c" }, 100.0)]
    [InlineData(new[] { "a b c" }, new[] { "abc" }, 100.0)]
    [InlineData(new[] { "" }, new[] { "c" }, 0.0)]
    [InlineData(new[] { "a", "b" }, new[] { "a", "c" }, 50.0)]
    [InlineData(new[] { "aa" }, new[] { "ab" }, 25.0)]
    public void Beta3_EffectiveOrder(string[] hypotheses, string[] references, double expected)
    {
        var chrf = ChrF.Corpus(hypotheses, Refs(references), new ChrFOptions { Beta = 3 });
        Assert.Equal(expected, chrf.Score, 1e-4);
    }

    [Theory]
    [InlineData("Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.",
                "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.", 67.3481606)]
    [InlineData("risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .",
                "risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .", 65.2414427)]
    public void Beta3_KeepWhitespace(string hypothesis, string reference, double expected)
    {
        var chrf = ChrF.Corpus([hypothesis], Refs([reference]), new ChrFOptions { Beta = 3, KeepWhitespace = true });
        Assert.Equal(expected, chrf.Score, 1e-4);
    }

    // test_chrf.py sentence-level cases: sacreBLEU's default beta 2, eps_smoothing=True.
    [Theory]
    [InlineData("Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.",
                "Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře.", 39.14078509)]
    [InlineData("Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.",
                "A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři.", 31.22557079)]
    [InlineData("Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.",
                "Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli.", 57.15704367)]
    public void Beta2_SentenceLevel(string hypothesis, string reference, double expected)
    {
        var chrf = ChrF.Corpus([hypothesis], Refs([reference]), new ChrFOptions { EpsilonSmoothing = true });
        Assert.Equal(expected, chrf.Score, 1e-4);
    }
}
