using Transformers.Data;
using Transformers.Translation;

namespace Transformers.Tests.Data;

public class TokenBatcherTests
{
    private static IReadOnlyList<TokenizedPair> Pairs(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count)
            .Select(i => new TokenizedPair(
                Enumerable.Range(0, random.Next(1, 40)).Select(t => 10 + t).ToArray(),
                Enumerable.Range(0, random.Next(1, 40)).Select(t => 100 + t).ToArray()))
            .ToList();
    }

    [Fact]
    public void SameSeed_SameBatches_OtherSeed_OtherOrder()
    {
        var pairs = Pairs(500, 1);
        var a = TokenBatcher.CreateBatches(pairs, new BatchOptions { MaxTokens = 256, Seed = 7 });
        var b = TokenBatcher.CreateBatches(pairs, new BatchOptions { MaxTokens = 256, Seed = 7 });
        var c = TokenBatcher.CreateBatches(pairs, new BatchOptions { MaxTokens = 256, Seed = 8 });
        Assert.Equal(a.Select(x => x.Indices.ToArray()), b.Select(x => x.Indices.ToArray()));
        Assert.NotEqual(a.Select(x => x.Indices.ToArray()), c.Select(x => x.Indices.ToArray()));
    }

    [Fact]
    public void EveryPairOnce_BudgetRespected()
    {
        var pairs = Pairs(500, 2);
        var batches = TokenBatcher.CreateBatches(pairs, new BatchOptions { MaxTokens = 300, MaxPairs = 16 });
        Assert.Equal(Enumerable.Range(0, 500), batches.SelectMany(b => b.Indices).Order());
        foreach (var batch in batches)
        {
            Assert.True((long)batch.Size * Math.Max(batch.SourceLength, batch.TargetLength) <= 300);
            Assert.True(batch.Size <= 16);
            for (var k = 0; k < batch.Size; k++) Assert.Same(pairs[batch.Indices[k]].Source, batch.Sources[k]);
        }
    }

    [Fact]
    public void OversizedPair_GetsItsOwnBatch()
    {
        var pairs = new[] { new TokenizedPair(new int[50], new int[3]), new TokenizedPair(new int[2], new int[2]) };
        var batches = TokenBatcher.CreateBatches(pairs, new BatchOptions { MaxTokens = 10 });
        Assert.Equal(2, batches.Count);
    }

    [Fact]
    public void LengthBucketing_KeepsPaddingLow()
    {
        // Correlated sides, as in translation: source length = target length +- 3.
        var rng = new Random(3);
        var pairs = Enumerable.Range(0, 2000).Select(_ => rng.Next(4, 40)).Select(t => new TokenizedPair(new int[t + rng.Next(-3, 4)], new int[t])).ToList();
        var bucketed = TokenBatcher.PaddingFraction(TokenBatcher.CreateBatches(pairs, new BatchOptions { MaxTokens = 1024 }));
        // Batches in input order: about a third of the tokens are padding for lengths uniform in 4..39.
        var random = Enumerable.Range(0, 2000).Chunk(25).Select(ix => new TranslationBatch(ix.Select(i => pairs[i].Source).ToArray(), ix.Select(i => pairs[i].Target).ToArray()));
        Assert.True(bucketed < 0.15, $"padding {bucketed:P1}");
        Assert.True(TokenBatcher.PaddingFraction(random) > 0.3);
    }

    [Fact]
    public void PaddingFraction_Counts()
    {
        var batch = new TranslationBatch([[1, 2, 3], [4]], [[5], [6, 7]]);
        // padded: 2 x (3 + 2) = 10 tokens; real: 3 + 1 + 1 + 2 = 7.
        Assert.Equal(0.3, TokenBatcher.PaddingFraction([batch]), 1e-12);
    }

    [Fact]
    public void ToTensors_AddsSpecialTokensPadsAndMasks()
    {
        var special = new SpecialTokens(Pad: 0, Bos: 2, Eos: 3, Unk: 1);
        var batch = new TranslationBatch([[5, 6, 7], [8]], [[9], [10, 11]]);
        using var t = batch.ToTensors(special);
        Assert.Equal([2L, 4], t.Source.shape);                                  // tokens + EOS, padded
        Assert.Equal(new long[] { 5, 6, 7, 3, 8, 3, 0, 0 }, t.Source.data<long>().ToArray());
        Assert.Equal(new[] { true, true, true, true, true, true, false, false }, t.SourceMask.data<bool>().ToArray());
        Assert.Equal([2L, 3], t.TargetIn.shape);                                // BOS + tokens / tokens + EOS, padded
        Assert.Equal(new long[] { 2, 9, 0, 2, 10, 11 }, t.TargetIn.data<long>().ToArray());
        Assert.Equal(new long[] { 9, 3, 0, 10, 11, 3 }, t.TargetOut.data<long>().ToArray());
        Assert.Equal(5, batch.TargetTokens);                                    // 9 EOS, 10 11 EOS
    }

    [Fact]
    public void SourceTensors_OfABatchToTranslate_AreTheSourceTensorsOfAPairBatch()
    {
        var special = new SpecialTokens(Pad: 0, Bos: 2, Eos: 3, Unk: 1);
        var sources = new List<int[]> { new[] { 5, 6, 7 }, new[] { 8 } };
        var toTranslate = TranslationBatch.OfSources(sources);
        var (source, mask) = toTranslate.SourceTensors(special);
        using var _ = source;
        using var __ = mask;
        using var pair = new TranslationBatch(sources, [[9], [10]]).ToTensors(special);
        Assert.Equal(pair.Source.data<long>().ToArray(), source.data<long>().ToArray());
        Assert.Equal(pair.SourceMask.data<bool>().ToArray(), mask.data<bool>().ToArray());
        Assert.Throws<InvalidOperationException>(() => toTranslate.ToTensors(special));
    }

    [Fact]
    public void LengthFilter_CountsWhy()
    {
        TokenizedPair P(int s, int t) => new(new int[s], new int[t]);
        var result = new LengthFilter(MinTokens: 1, MaxTokens: 10, MaxRatio: 3).Apply([P(5, 5), P(0, 3), P(11, 4), P(2, 9), P(3, 9)]);
        Assert.Equal([0, 4], result.Kept);
        Assert.Equal((1, 1, 1), (result.DroppedTooShort, result.DroppedTooLong, result.DroppedRatio));
    }
}
