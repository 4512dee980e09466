using System.Text.RegularExpressions;
using Transformers.Data;

namespace Transformers.Tests.Data;

/// <summary>The shipped corpus meets the issue's figures; it is read from the embedded resource, not from disk.</summary>
public class BundledCorpusTests
{
    [Fact]
    public void Statistics_MeetTheSpec()
    {
        var pairs = BundledCorpus.Load().Pairs;
        Assert.True(pairs.Count >= 50_000, $"{pairs.Count} pairs");
        Assert.Equal(pairs.Count, pairs.Select(p => (p.Source, p.Target)).Distinct().Count());
        Assert.True(pairs.Count(p => CorpusCleaner.CountWords(p.Target) >= 4) >= 30_000);
        Assert.All(pairs.Take(1000), p => Assert.Equal("fr-en.tsv.gz", p.File));
        Assert.Equal(1, pairs[0].Line);
    }

    [Fact]
    public void Split_DevAndTestLargeEnough_NoEnglishStraddles()
    {
        var split = BundledCorpus.LoadSplit();
        Assert.True(split.Dev.Count >= 2000, $"dev {split.Dev.Count}");
        Assert.True(split.Test.Count >= 2000, $"test {split.Test.Count}");
        var train = split.Train.Select(p => CorpusSplit.NormalizeKey(p.Target)).ToHashSet();
        Assert.DoesNotContain(split.Test, p => train.Contains(CorpusSplit.NormalizeKey(p.Target)));
        Assert.DoesNotContain(split.Dev, p => train.Contains(CorpusSplit.NormalizeKey(p.Target)));
    }

    [Fact]
    public void Padding_Below15Percent_WithStandInTokenizer()
    {
        // Stand-in tokenizer (words and single punctuation marks): only the lengths matter for padding.
        static int[] Tokens(string text) => new int[Regex.Count(text, @"\w+|[^\w\s]")];
        var train = TokenizedPair.FromPairs(BundledCorpus.LoadSplit().Train, Tokens, Tokens);
        var batches = TokenBatcher.CreateBatches(train, new BatchOptions { MaxTokens = 4096, Seed = 0 });
        Assert.True(TokenBatcher.PaddingFraction(batches) < 0.15);
    }
}
