using System.Text;
using Transformers.Data;

namespace Transformers.Tests.Data;

public class CorpusSplitTests
{
    [Theory]
    [InlineData("", 0xcbf29ce484222325UL)] // FNV-1a 64 published test vectors
    [InlineData("a", 0xaf63dc4c8601ec8cUL)]
    [InlineData("foobar", 0x85944171f73967e8UL)]
    public void Fnv1a64_KnownVectors(string text, ulong expected) => Assert.Equal(expected, CorpusSplit.Fnv1a64(Encoding.ASCII.GetBytes(text)));

    [Fact]
    public void SameNormalizedEnglish_SamePart()
    {
        var pairs = Enumerable.Range(0, 2000).SelectMany(i => new[]
        {
            new SentencePair($"fr {i}", $"Sentence number {i}.", "f", i),
            new SentencePair($"autre {i}", $"  sentence NUMBER\t{i}. ", "f", i), // same English after normalization
        }).ToList();
        var split = CorpusSplit.Create(pairs);
        foreach (var part in new[] { split.Train, split.Dev, split.Test })
            Assert.Equal(0, part.Count % 2); // both spellings of each sentence land together
        var partOf = new Dictionary<string, int>();
        foreach (var (part, index) in new[] { split.Train, split.Dev, split.Test }.Select((p, i) => (p, i)))
            foreach (var pair in part)
            {
                var key = CorpusSplit.NormalizeKey(pair.Target);
                Assert.Equal(index, partOf.GetValueOrDefault(key, index));
                partOf[key] = index;
            }
        Assert.Equal(4000, split.Train.Count + split.Dev.Count + split.Test.Count);
        Assert.InRange(split.Dev.Count, 2 * 30, 2 * 100); // ~3% of 2000 sentences, two pairs each
        Assert.InRange(split.Test.Count, 2 * 30, 2 * 100);
    }

    [Fact]
    public void Deterministic_OrderIndependent()
    {
        var pairs = Enumerable.Range(0, 500).Select(i => new SentencePair($"fr {i}", $"en {i}", "f", i)).ToList();
        var a = CorpusSplit.Create(pairs);
        var b = CorpusSplit.Create(Enumerable.Reverse(pairs));
        Assert.Equal(a.Test.Select(p => p.Target).Order(), b.Test.Select(p => p.Target).Order());
        Assert.Equal(a.Dev.Select(p => p.Target).Order(), b.Dev.Select(p => p.Target).Order());
    }

    [Fact]
    public void Shares_AreConfigurable()
    {
        var pairs = Enumerable.Range(0, 100).Select(i => new SentencePair($"fr {i}", $"en {i}", "f", i)).ToList();
        var all = CorpusSplit.Create(pairs, new SplitOptions { DevPerMille = 0, TestPerMille = 1000 });
        Assert.Equal(100, all.Test.Count);
        Assert.Throws<ArgumentException>(() => CorpusSplit.Create(pairs, new SplitOptions { DevPerMille = 600, TestPerMille = 600 }));
    }

    [Fact]
    public void Require_EmptyPart_OneLineWithTheSizesAndWhatIsNeeded()
    {
        var pairs = Enumerable.Range(0, 10).Select(i => new SentencePair($"fr {i}", $"en {i}", "f", i + 1)).ToList();
        var split = new CorpusSplit(pairs.Take(8).ToList(), [], pairs.Skip(8).ToList());
        Assert.Same(split, split.Require("x.tsv", SplitPart.Train, SplitPart.Test));
        var error = Assert.Throws<ArgumentException>(() => split.Require("x.tsv", SplitPart.Train, SplitPart.Dev, SplitPart.Test));
        Assert.StartsWith("--data x.tsv: too small to split: 8 train, 0 dev, 2 test pairs, and dev must have at least one. ", error.Message);
        Assert.Contains($"about {CorpusSplit.MinimumDistinctTargets} of them", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        // The bound is what it says: that many distinct sentences leave a 3 % part empty with probability under 1 %.
        Assert.True(Math.Pow(0.97, CorpusSplit.MinimumDistinctTargets) < 0.01);
    }
}
