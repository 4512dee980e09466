using Transformers.Inspection;

namespace Transformers.Tests.Inspection;

/// <summary>Every statistic on hand-made probability maps; expected values worked out by hand (see the comments).</summary>
public sealed class HeadStatisticsTests
{
    private const double Tol = 1e-6;

    // Tokens: [CLS] a . [SEP]  (k = 0..3; "." is punctuation)
    private static readonly string[] Tokens = ["[CLS]", "a", ".", "[SEP]"];

    private static AttentionRecord SelfRecord()
    {
        float[] previous =   // head 0: every token looks at its predecessor; [CLS] at itself
        [
            1, 0, 0, 0,
            1, 0, 0, 0,
            0, 1, 0, 0,
            0, 0, 1, 0,
        ];
        float[] uniform = Enumerable.Repeat(0.25f, 16).ToArray();   // head 1
        float[] firstTwo =   // head 2: half on [CLS], half on "a"
        [
            0.5f, 0.5f, 0, 0,
            0.5f, 0.5f, 0, 0,
            0.5f, 0.5f, 0, 0,
            0.5f, 0.5f, 0, 0,
        ];
        var layer = new AttentionLayer(AttentionKind.EncoderSelf, 0, 3, 4, 4, [.. previous, .. uniform, .. firstTwo]);
        return new AttentionRecord { Model = "hand-made", SourceTokens = Tokens, Layers = [layer] };
    }

    [Fact]
    public void PreviousTokenHead()
    {
        var s = HeadStatisticsCalculator.Compute(SelfRecord())[0];
        Assert.Equal((AttentionKind.EncoderSelf, 0, 0), (s.Kind, s.Layer, s.Head));
        Assert.Equal(0, s.Entropy, Tol);                        // one-hot rows
        Assert.Equal(0.75, s.MeanDistance!.Value, Tol);         // distances 0, 1, 1, 1
        Assert.Equal(0.5, s.Cls, Tol);                          // rows 0 and 1 on [CLS]
        Assert.Equal(0, s.Sep, Tol);
        Assert.Equal(0.25, s.Punctuation, Tol);                 // row 3 on "."
        Assert.Equal(0.25, s.Self!.Value, Tol);                 // only [CLS] on itself
        Assert.Equal(1, s.Previous!.Value, Tol);                // rows 1..3
        Assert.Equal(0, s.Next!.Value, Tol);
        Assert.Equal(1, s.MaxProbability, Tol);
        Assert.Equal("previous token", s.Pattern);
    }

    [Fact]
    public void UniformHead()
    {
        var s = HeadStatisticsCalculator.Compute(SelfRecord())[1];
        Assert.Equal(1.3862943611198906, s.Entropy, Tol);       // ln 4
        Assert.Equal(1.25, s.MeanDistance!.Value, Tol);         // (1.5 + 1 + 1 + 1.5) / 4
        foreach (var share in new[] { s.Cls, s.Sep, s.Punctuation, s.Self!.Value, s.Previous!.Value, s.Next!.Value, s.MaxProbability })
            Assert.Equal(0.25, share, Tol);
        Assert.Equal("", s.Pattern);
    }

    [Fact]
    public void HalfAndHalfHead()
    {
        var s = HeadStatisticsCalculator.Compute(SelfRecord())[2];
        Assert.Equal(0.6931471805599453, s.Entropy, Tol);       // ln 2
        Assert.Equal(1.25, s.MeanDistance!.Value, Tol);         // (0.5 + 0.5 + 1.5 + 2.5) / 4
        Assert.Equal(0.5, s.Cls, Tol);
        Assert.Equal(0, s.Sep + s.Punctuation, Tol);
        Assert.Equal(0.25, s.Self!.Value, Tol);                 // (0.5 + 0.5 + 0 + 0) / 4
        Assert.Equal(1.0 / 3, s.Previous!.Value, Tol);          // (0.5 + 0.5 + 0) / 3
        Assert.Equal(1.0 / 6, s.Next!.Value, Tol);              // (0.5 + 0 + 0) / 3
        Assert.Equal(0.5, s.MaxProbability, Tol);
    }

    [Fact]
    public void CrossAttention_HasSharpnessButNoPositions()
    {
        // target "<s> x" attends to source "a . </s>"
        var layer = new AttentionLayer(AttentionKind.Cross, 1, 1, 2, 3, [0.2f, 0.8f, 0f, 0.6f, 0.3f, 0.1f]);
        var record = new AttentionRecord { Model = "m", SourceTokens = ["a", ".", "</s>"], TargetTokens = ["<s>", "x"], Layers = [layer] };
        var s = HeadStatisticsCalculator.Compute(record).Single();
        Assert.Equal((AttentionKind.Cross, 1, 0), (s.Kind, s.Layer, s.Head));
        Assert.Equal(0.7, s.MaxProbability, 1e-6);             // (0.8 + 0.6) / 2
        Assert.Equal((0.5004024235381879 + 0.8979457248567798) / 2, s.Entropy, 1e-6);  // H(.2,.8), H(.6,.3,.1)
        Assert.Equal((0.8 + 0.3) / 2, s.Punctuation, 1e-6);    // "." is key 1
        Assert.Equal(0.05, s.Sep, 1e-6);                       // "</s>" counts as an end token: (0 + 0.1) / 2
        Assert.Equal(0, s.Cls, 1e-6);
        Assert.Null(s.MeanDistance);
        Assert.Null(s.Self);
        Assert.Null(s.Previous);
        Assert.Null(s.Next);
    }

    [Theory]
    [InlineData(".", true)]
    [InlineData("##,", true)]
    [InlineData("\"", true)]
    [InlineData("$", true)]
    [InlineData("a.", false)]
    [InlineData("[SEP]", false)]
    [InlineData("[UNK]", false)]
    [InlineData("##", true)]       // the literal "##" (no continuation prefix to strip)
    [InlineData("###", true)]      // continuation of "#"
    [InlineData("</s>", false)]
    public void Punctuation(string token, bool expected) => Assert.Equal(expected, HeadStatisticsCalculator.IsPunctuation(token));

    [Fact]
    public void Record_RejectsShapesThatDoNotMatchTheTokens()
    {
        var layer = new AttentionLayer(AttentionKind.EncoderSelf, 0, 1, 2, 2, [1, 0, 0, 1]);
        var e = Assert.Throws<ArgumentException>(() => new AttentionRecord { Model = "m", SourceTokens = ["a", "b", "c"], Layers = [layer] }.Validate());
        Assert.Contains("[2 x 2]", e.Message);
        Assert.Throws<ArgumentException>(() => new AttentionLayer(AttentionKind.Cross, 0, 2, 2, 2, new float[7]));
    }
}
