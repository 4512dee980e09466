using Transformers.Bert;
using Transformers.Inspection;

namespace Transformers.Tests.Inspection;

/// <summary>The built-in all-MiniLM-L6-v2 with its tokenizer and vocabulary, loaded once for the heads tests.</summary>
public sealed class MiniLmHeadsFixture : IDisposable
{
    public BertModel Model { get; } = BertWeights.LoadMiniLm();
    public Func<string, int[]> Tokenize { get; } = MiniLm.CreateIdEncoder();
    public string[] Vocabulary { get; } = MiniLm.VocabularyLines();

    public AttentionRecord Capture(string text) =>
        AttentionCapture.FromBert(Model, AttentionCapture.PrepareBertText(text, Tokenize, Vocabulary, Model.Config.MaxPositionEmbeddings), "all-MiniLM-L6-v2");

    public void Dispose() => Model.Dispose();
}

[CollectionDefinition(Name)]
public sealed class MiniLmHeadsCollection : ICollectionFixture<MiniLmHeadsFixture>
{
    public const string Name = "MiniLM heads";
}

/// <summary>
/// Clark et al. 2019 ("What Does BERT Look At?") found heads that attend to the previous or next token, heads that put
/// most of their attention on [CLS]/[SEP], and broad heads in early layers. On all-MiniLM-L6-v2 we measured (layer/head
/// 0-based): L0 H2 is a previous-token head (≈ 1.0), L1 H8 a next-token head (≈ 0.6), many layer 1-4 heads put more than
/// half their attention on [CLS] (L4 H5 ≈ 0.8; MiniLM favours [CLS] where BERT-base favours [SEP]), and layer 0 has broad
/// heads (mean max probability &lt; 0.25). These tests assert those facts on three sentences.
/// </summary>
[Collection(MiniLmHeadsCollection.Name)]
public sealed class MiniLmHeadsTests(MiniLmHeadsFixture fixture)
{
    public static TheoryData<string> Sentences => new()
    {
        "The quick brown fox jumps over the lazy dog.",
        "She sold the old house to a young couple from Paris last spring.",
        "Attention heads in small models often learn simple positional patterns, as earlier studies found.",
    };

    [Theory]
    [MemberData(nameof(Sentences))]
    public void ClarkPatternsShowUp(string sentence)
    {
        var record = fixture.Capture(sentence);
        var stats = HeadStatisticsCalculator.Compute(record);
        Assert.Equal(72, stats.Count);
        HeadStatistics At(int layer, int head) => stats.Single(s => s.Layer == layer && s.Head == head);

        Assert.True(At(0, 2).Previous > 0.9, $"L0 H2 previous = {At(0, 2).Previous}");
        Assert.Equal("previous token", At(0, 2).Pattern);
        Assert.True(At(1, 8).Next > 0.5, $"L1 H8 next = {At(1, 8).Next}");
        Assert.Contains(stats, s => s.Next > 0.5);
        Assert.Contains(stats, s => s.Cls > 0.7 || s.Sep > 0.7);
        Assert.True(stats.Count(s => s.Cls > 0.5) >= 10, $"{stats.Count(s => s.Cls > 0.5)} heads with > 50% on [CLS]");
        Assert.True(At(4, 5).Cls > 0.6, $"L4 H5 [CLS] = {At(4, 5).Cls}");
        Assert.Contains(stats, s => s.Layer == 0 && s.MaxProbability < 0.25);   // broad heads early
    }

    [Fact]
    public void LongText_IsTruncatedTo512_AndSaysSo()
    {
        var text = string.Join(' ', Enumerable.Repeat("word", 700));
        var record = fixture.Capture(text);
        Assert.Equal(512, record.SourceTokens.Count);
        Assert.Equal("[CLS]", record.SourceTokens[0]);
        Assert.Equal("[SEP]", record.SourceTokens[^1]);
        Assert.Contains(record.Notes, n => n.Contains("702 word pieces") && n.Contains("truncated"));
    }

    [Fact]
    public void EmptyText_IsAClearError()
    {
        var e = Assert.Throws<ArgumentException>(() => fixture.Capture(""));
        Assert.Contains("empty", e.Message);
    }
}
