using Transformers.Data;
using Transformers.Evaluation;
using Transformers.Tokenizer.Processing;
using Transformers.Translation;

namespace Transformers.Tests.Translation;

public sealed class SpacingTests
{
    private static readonly string[] Sentences =
    [
        "%s set to manually installed.",
        "Press [Enter] to continue.",
        "Cache is out of sync, can't x-ref a package file",
        "Total dependencies: %d",
        "Range (dB): 10",
        "Unable to unmount the CD-ROM in %s, it may still be in use.",
    ];

    private static (SpacingModel Model, Transformers.Tokenizer.WordPieceTokenizer Tokenizer) Learned()
    {
        var corpus = Sentences.SelectMany(s => Enumerable.Repeat(s, SpacingModel.MinCount)).ToList();
        var tokenizer = TranslationData.TrainTokenizer(corpus.Select((s, i) => new SentencePair(s, s, "test", i + 1)).ToList(), 200);
        return (SpacingModel.Learn(corpus, tokenizer), tokenizer);
    }

    private static int[] Ids(Transformers.Tokenizer.WordPieceTokenizer tokenizer, string text) =>
        tokenizer.Encode(text, null, new BertEncodeOptions { AddSpecialTokens = false }).Ids;

    [Fact]
    public void LearnedSpacing_RestoresTheTrainingSentences_WherePlainWordPieceDecodingCannot()
    {
        var (spacing, tokenizer) = Learned();
        foreach (var s in Sentences)
            Assert.Equal(s, spacing.Decode(Ids(tokenizer, s), tokenizer));
        Assert.Equal("% s set to manually installed.", tokenizer.Decode(Ids(tokenizer, Sentences[0]), skipSpecialTokens: true));
    }

    [Fact]
    public void UnseenPairs_BackOffToTheirClasses_ThenToASpace()
    {
        var (spacing, tokenizer) = Learned();
        // "%" then a word was always glued ("%s", "%d"); a word then ":" too; "in" then "%" was always spaced.
        Assert.True(spacing.Glue("%", "x"));
        Assert.True(spacing.Glue("anything", ":"));
        Assert.False(spacing.Glue("in", "%"));
        Assert.False(spacing.Glue("never", "seen"));
        Assert.False(spacing.Glue("§", "¤"), "an unseen pair of classes gets a space");
        // Special tokens are dropped.
        var ids = new[] { tokenizer.ClassificationId }.Concat(Ids(tokenizer, "Total dependencies: %d")).Append(tokenizer.SeparatorId);
        Assert.Equal("Total dependencies: %d", spacing.Decode(ids, tokenizer));
    }

    [Fact]
    public void EachNeighbourPair_IsCountedOnce_EvenWhenBothArePunctuation()
    {
        var (spacing, tokenizer) = Learned();
        var path = Path.Combine(Path.GetTempPath(), "spacing-" + Guid.NewGuid().ToString("N") + ".tsv");
        try
        {
            SpacingModel.Learn(["Range (dB): 10"], tokenizer).Save(path);
            var lines = File.ReadAllLines(path).Skip(1).Select(l => l.Split('\t')).ToDictionary(f => (f[0], f[1]), f => (Glued: int.Parse(f[2]), Total: int.Parse(f[3])));
            Assert.Equal((1, 1), lines[(")", ":")]);                                          // punctuation pair: its own class, one count
            Assert.Equal((0, 1), lines[("Range", "(")]);
            Assert.Equal((0, 1), lines[("<w>", "(")]);
            Assert.Equal((1, 1), lines[("dB", ")")]);
            Assert.Equal((1, 1), lines[("<w>", ")")]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void SaveAndLoad_RoundTrip_AndABadLineNamesFileAndLine()
    {
        var (spacing, tokenizer) = Learned();
        var path = Path.Combine(Path.GetTempPath(), "spacing-" + Guid.NewGuid().ToString("N") + ".tsv");
        try
        {
            spacing.Save(path);
            var loaded = SpacingModel.Load(path);
            Assert.Equal(spacing.Count, loaded.Count);
            foreach (var s in Sentences) Assert.Equal(s, loaded.Decode(Ids(tokenizer, s), tokenizer));
            File.AppendAllText(path, "a\tb\t5\t3\n");
            var e = Assert.Throws<InvalidDataException>(() => SpacingModel.Load(path));
            Assert.Contains($"{path}:{File.ReadAllLines(path).Length}:", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void OnTheBundledTestSplit_TheRoundTripCeilingRisesAbove97Bleu()
    {
        var split = BundledCorpus.LoadSplit();
        var train = split.Train.Take(20_000).ToList();
        var tokenizer = TranslationData.TrainTokenizer(train, 4000);
        var spacing = SpacingModel.Learn(train.Select(p => p.Target), tokenizer);
        var refs = split.Test.Select(p => p.Target).ToList();
        var ids = refs.Select(r => Ids(tokenizer, r)).ToList();
        double plain = Bleu.Corpus(ids.Select(i => tokenizer.Decode(i, skipSpecialTokens: true)).ToList(), [refs]).Score;
        double learned = Bleu.Corpus(ids.Select(i => spacing.Decode(i, tokenizer)).ToList(), [refs]).Score;
        Assert.True(plain < 92, $"plain WordPiece decoding round-trips at {plain:F2} BLEU");
        Assert.True(learned > 97, $"learned spacing round-trips at {learned:F2} BLEU (plain {plain:F2})");
        // What an exported model ships: only the pairs seen MinCount times or more, the same text from far fewer lines.
        var pruned = spacing.Pruned();
        Assert.True(pruned.Count < spacing.Count / 2, $"pruning kept {pruned.Count} of {spacing.Count} pairs");
        Assert.Equal(ids.Select(i => spacing.Decode(i, tokenizer)), ids.Select(i => pruned.Decode(i, tokenizer)));
    }
}
