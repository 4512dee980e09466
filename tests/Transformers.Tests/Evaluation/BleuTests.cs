using Transformers.Evaluation;

namespace Transformers.Tests.Evaluation;

/// <summary>Expected values are sacreBLEU's own published numbers (its README and test/test_bleu.py), not outputs of this code.</summary>
public class BleuTests
{
    // sacreBLEU README example: three hypotheses, two reference streams.
    private static readonly string[] Hypotheses = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."];
    private static readonly string[] Reference1 = ["The dog bit the man.", "It was not unexpected.", "The man bit him first."];
    private static readonly string[] Reference2 = ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."];

    private static IReadOnlyList<IReadOnlyList<string>> Refs(params string[][] streams) => streams;

    [Fact]
    public void ReadmeExample_13a_Default()
    {
        var bleu = Bleu.Corpus(Hypotheses, Refs(Reference1, Reference2));
        Assert.Equal(48.530827, bleu.Score, 1e-6);
        Assert.Equal("BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)", bleu.ToString());
        Assert.Equal("nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.x.x", bleu.Signature);
    }

    [Fact]
    public void ReadmeExample_NoTokenization()
    {
        var bleu = Bleu.Corpus(Hypotheses, Refs(Reference1, Reference2), new BleuOptions { Tokenization = BleuTokenization.None });
        Assert.Equal(49.1919566, bleu.Score, 1e-6);
        Assert.Contains("tok:none", bleu.Signature);
    }

    [Fact]
    public void ReadmeExample_NoSmoothing_SameScore()
    {
        var bleu = Bleu.Corpus(Hypotheses, Refs(Reference1, Reference2), new BleuOptions { Smoothing = BleuSmoothing.None });
        Assert.Equal(48.530827, bleu.Score, 1e-6);
    }

    [Fact]
    public void ReadmeExample_EmptyReferenceIsMissing_VariableReferences()
    {
        string[] reference1 = ["", "It was not unexpected.", "The man bit him first."];
        var bleu = Bleu.Corpus(Hypotheses, Refs(reference1, Reference2));
        Assert.Equal("BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ratio = 0.895 hyp_len = 17 ref_len = 19)", bleu.ToString());
        Assert.StartsWith("nrefs:var|", bleu.Signature);
    }

    [Fact]
    public void EmptyHypotheses_ScoreZero()
    {
        var bleu = Bleu.Corpus(["", "", ""], Refs(Reference1, Reference2));
        Assert.Equal(0.0, bleu.Score);
    }

    [Fact]
    public void ComputeBleu_FromStatistics()
    {
        var bleu = Bleu.FromStatistics([9, 7, 5, 3], [10, 8, 6, 4], 11, 11);
        Assert.Equal(0.8375922397, bleu.Score / 100, 1e-8);
    }

    [Theory]
    [InlineData(new long[] { 0, 0, 0, 0 }, new long[] { 4, 4, 2, 1 }, 0, 1, 0.0)]
    [InlineData(new long[] { 0, 0, 0, 0 }, new long[] { 10, 11, 12, 0 }, 14, 10, 0.0)]
    [InlineData(new long[] { 0, 0, 0, 0 }, new long[] { 0, 0, 0, 0 }, 0, 0, 0.0)]
    [InlineData(new long[] { 6, 5, 4, 0 }, new long[] { 6, 5, 4, 3 }, 6, 6, 0.0)]
    [InlineData(new long[] { 0, 0, 0, 0 }, new long[] { 0, 0, 0, 0 }, 0, 0, 0.1)]
    [InlineData(new long[] { 0, 0, 0, 0 }, new long[] { 0, 0, 0, 0 }, 1, 5, 0.01)]
    public void DegenerateStatistics_FloorSmoothing_ScoreZero(long[] correct, long[] total, long hypLen, long refLen, double floor)
    {
        var options = new BleuOptions { Smoothing = BleuSmoothing.Floor, SmoothValue = floor };
        Assert.Equal(0.0, Bleu.FromStatistics(correct, total, hypLen, refLen, options).Score);
    }

    // sacreBLEU's raw_corpus_bleu: floor smoothing 0.01, effective order, no tokenization.
    private static readonly BleuOptions Raw = new()
    {
        Tokenization = BleuTokenization.None, Smoothing = BleuSmoothing.Floor, SmoothValue = 0.01, EffectiveOrder = true,
    };

    [Theory]
    [InlineData("test", "a test", 0.3678794411714425)]
    [InlineData("a test", "a test", 1.0)]
    [InlineData("a little test", "a test", 0.03218297948685433)]
    [InlineData("this is a test", "this is a test", 1.0)]
    [InlineData("this is a fest", "this is a test", 0.223606797749979)]
    public void RawBleu_EffectiveOrder(string hypothesis, string reference, double expected)
    {
        Assert.Equal(expected, Bleu.Corpus([hypothesis], Refs([reference]), Raw).Score / 100, 1e-8);
    }

    [Fact]
    public void RawBleu_TwoSegments()
    {
        var bleu = Bleu.Corpus(["this is a test", "another test"], Refs(["ref1", "ref2"]), Raw);
        Assert.Equal(0.003799178428257963, bleu.Score / 100, 1e-8);
    }

    [Fact]
    public void Statistics_ClippedCounts()
    {
        var bleu = Bleu.Corpus(["am I am a character sequence"], Refs(["I am a symbol string sequence a a"]),
            Raw with { SmoothValue = 0.0 });
        Assert.Equal([4L, 2, 1, 0], bleu.Correct);
        Assert.Equal([6L, 5, 4, 3], bleu.Total);
        Assert.Equal(0.0, bleu.Score);
    }

    [Fact]
    public void Statistics_DefaultFloorGivesOffsetScore()
    {
        var bleu = Bleu.Corpus(["am I am a character sequence"], Refs(["I am a symbol string sequence a a"]), Raw with { SmoothValue = 0.1 });
        Assert.Equal(0.1555722182, bleu.Score / 100, 1e-8);
    }

    [Fact]
    public void Lowercase_MatchesAcrossCase()
    {
        var mixed = Bleu.Corpus(["THE DOG BIT THE MAN."], Refs(["the dog bit the man."]));
        var lower = Bleu.Corpus(["THE DOG BIT THE MAN."], Refs(["the dog bit the man."]), new BleuOptions { Lowercase = true });
        Assert.True(mixed.Score < 10);
        Assert.Equal(100.0, lower.Score, 1e-9);
        Assert.Contains("case:lc", lower.Signature);
    }

    [Fact]
    public void MismatchedSegmentCounts_Throw()
    {
        var error = Assert.Throws<ArgumentException>(() => Bleu.Corpus(Hypotheses, Refs(Reference1[..2])));
        Assert.Contains("reference stream 1 has 2 segments but there are 3 hypotheses", error.Message);
    }
}
