using Transformers.Data;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Translation;

public sealed class TransformerTranslatorTests
{
    private const int Vocab = 20;

    private static TransformerTranslator Tiny(int seed, NormPosition norm = NormPosition.Pre, bool tie = true)
    {
        manual_seed(seed);
        var m = new TransformerTranslator(TransformerConfig.Tiny(Vocab) with { Norm = norm, TieEmbeddings = tie });
        m.eval();
        return m;
    }

    private static (Tensor Src, Tensor Mask) Source() =>
        (tensor(new long[,] { { 5, 6, 7, 8, 2 }, { 9, 10, 2, 0, 0 }, { 11, 2, 0, 0, 0 } }),
         tensor(new long[,] { { 5, 6, 7, 8, 2 }, { 9, 10, 2, 0, 0 }, { 11, 2, 0, 0, 0 } }).ne(0));

    /// <summary>Greedy decoding by re-running the whole decoder on the growing prefix at every step (no cache).</summary>
    private static List<int>[] RecomputeGreedy(Seq2SeqModel m, Tensor src, Tensor mask, int steps)
    {
        using var _ = no_grad();
        int batch = (int)src.shape[0];
        var prefix = Enumerable.Range(0, batch).Select(_ => new List<long> { m.Special.Bos }).ToArray();
        for (int s = 0; s < steps; s++)
        {
            var tgt = tensor(prefix.SelectMany(p => p).ToArray()).view(batch, s + 1);
            var next = m.Forward(src, mask, tgt)[.., -1].argmax(-1).data<long>().ToArray();
            for (int b = 0; b < batch; b++) prefix[b].Add(next[b]);
        }
        return prefix.Select(p => p.Skip(1).Select(x => (int)x).ToList()).ToArray();
    }

    [Theory]
    [InlineData(NormPosition.Pre, true)]
    [InlineData(NormPosition.Post, false)]
    public void CachedDecoding_EqualsFullRecomputation(NormPosition norm, bool tie)
    {
        using var m = Tiny(1, norm, tie);
        var (src, mask) = Source();
        int steps = 20;
        var reference = RecomputeGreedy(m, src, mask, steps);
        // Step the cache by hand (no EOS stop) so every position is compared.
        using var _ = no_grad();
        using var state = m.StartDecoding(m.Encode(src, mask));
        var prev = full(3, m.Special.Bos, ScalarType.Int64);
        for (int s = 0; s < steps; s++)
        {
            var next = m.DecodeStep(prev, state).argmax(-1);
            var ids = next.data<long>().ToArray();
            for (int b = 0; b < 3; b++) Assert.Equal(reference[b][s], (int)ids[b]);
            prev = next;
        }
        // And the log-probabilities agree with the teacher-forced forward on the same prefix.
        var tgt = tensor(new long[] { 1 }.Concat(reference[0].Take(5).Select(x => (long)x)).ToArray()).view(1, 6);
        var full_ = m.Forward(src[..1], mask[..1], tgt).log_softmax(-1);
        using var st = m.StartDecoding(m.Encode(src[..1], mask[..1]));
        for (int s = 0; s < 6; s++)
        {
            var step = m.DecodeStep(tgt[.., s], st);
            Assert.True(step.allclose(full_[.., s], rtol: 0, atol: 1e-5), $"step {s}: max diff {(step - full_[.., s]).abs().max().item<float>()}");
        }
    }

    [Fact]
    public void Attention_IsCapturedPerLayerAndHead_CausalAndPaddingExactlyZero()
    {
        using var m = Tiny(2);
        var (src, mask) = Source();
        var tgt = tensor(new long[,] { { 1, 5, 6, 7 }, { 1, 9, 0, 0 }, { 1, 0, 0, 0 } });
        var o = m.ForwardWithAttention(src, mask, tgt);
        Assert.Equal(new long[] { 3, 4, Vocab }, o.Logits.shape);
        Assert.Equal(2, o.Attention!.EncoderSelf.Count);
        Assert.Equal(new long[] { 3, 2, 5, 5 }, o.Attention.EncoderSelf[0].shape);
        Assert.Equal(new long[] { 3, 2, 4, 4 }, o.Attention.DecoderSelf[0].shape);
        Assert.Equal(new long[] { 3, 2, 4, 5 }, o.Attention.Cross[1].shape);
        Assert.Equal(0f, o.Attention.DecoderSelf[1][.., .., 0, 1..].abs().max().item<float>());   // causal
        Assert.Equal(0f, o.Attention.Cross[0][2, .., .., 2..].abs().max().item<float>());        // source padding
        Assert.True(o.Logits.allclose(m.Forward(src, mask, tgt), rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void BeamOfOne_EqualsGreedy_AndWiderBeamsScoreAtLeastAsWell()
    {
        using var m = Tiny(3);
        var (src, mask) = Source();
        var greedy = Decoder.Translate(m, src, mask, new DecodingOptions { BeamSize = 1, MaxLengthOffset = 6 });
        var beam1 = Decoder.Translate(m, src, mask, new DecodingOptions { BeamSize = 1, MaxLengthOffset = 6, Normalization = LengthNormalization.None });
        for (int b = 0; b < 3; b++) Assert.Equal(greedy[b][0].Tokens, beam1[b][0].Tokens);
        var beam4 = Decoder.Translate(m, src, mask, new DecodingOptions { BeamSize = 4, NBest = 3, MaxLengthOffset = 6, Normalization = LengthNormalization.None });
        for (int b = 0; b < 3; b++)
        {
            Assert.Equal(3, beam4[b].Count);
            Assert.True(beam4[b][0].LogProbability >= greedy[b][0].LogProbability - 1e-4, $"sentence {b}: beam {beam4[b][0].LogProbability} < greedy {greedy[b][0].LogProbability}");
            Assert.True(beam4[b][0].Score >= beam4[b][1].Score && beam4[b][1].Score >= beam4[b][2].Score);
            Assert.True(beam4[b].All(h => h.Tokens.Length <= Math.Floor(1.5 * mask[b].sum().item<long>()) + 6));
        }
    }

    [Theory]
    [InlineData(LengthNormalization.Gnmt, 1.0, 7, -3.0)]        // ((5 + 7) / 6)^1 = 2
    [InlineData(LengthNormalization.Gnmt, 2.0, 19, -0.375)]     // ((5 + 19) / 6)^2 = 16
    [InlineData(LengthNormalization.Gnmt, 0.6, 1, -6.0)]        // ((5 + 1) / 6)^α = 1 for any α
    [InlineData(LengthNormalization.Gnmt, 0.0, 9, -6.0)]        // α = 0: no penalty
    [InlineData(LengthNormalization.Average, 0.6, 4, -1.5)]
    [InlineData(LengthNormalization.None, 0.6, 4, -6.0)]
    public void LengthPenalty_DividesTheLogProbabilityAsGnmtWritesIt(LengthNormalization normalization, double alpha, int length, double expected) =>
        Assert.Equal(expected, LengthPenalty.Score(-6.0, length, normalization, alpha), 12);   // log P = -6 in every row

    [Fact]
    public void BeamHypothesisScore_IsItsLogProbabilityUnderTheModel()
    {
        using var m = Tiny(4);
        var (src, mask) = Source();
        var hyps = Decoder.Translate(m, src[..1], mask[..1], new DecodingOptions { BeamSize = 3, NBest = 2, MaxLengthOffset = 4, Normalization = LengthNormalization.Average });
        foreach (var h in hyps[0])
        {
            // Independent check: teacher-force BOS + tokens and sum log P(token) + log P(EOS | all tokens).
            var tgtIn = tensor(new long[] { 1 }.Concat(h.Tokens.Select(x => (long)x)).ToArray()).view(1, -1);
            var logp = m.Forward(src[..1], mask[..1], tgtIn).log_softmax(-1)[0];
            var next = h.Tokens.Select(x => (long)x).Append(m.Special.Eos).ToArray();
            double total = next.Select((t, i) => (double)logp[i, t].item<float>()).Sum();
            Assert.Equal(total, h.LogProbability, 3);
            Assert.Equal(total / next.Length, h.Score, 3);
        }
    }

    [Fact]
    public void BadInput_IsReportedWithTheLimit()
    {
        using var m = Tiny(5);
        var (src, mask) = Source();
        // Ids are checked where a batch becomes tensors (on the host), not in the forward (which would read them back from the device).
        Assert.Contains("target id 25 (sentence 1 of the batch) is outside the vocabulary of 20",
                        Assert.Throws<ArgumentException>(() => new TranslationBatch([[3], [4]], [[2], [25]]).ToTensors(m)).Message);
        Assert.Contains("source id -1 (sentence 0 of the batch) is outside the vocabulary of 20",
                        Assert.Throws<ArgumentException>(() => TranslationBatch.OfSources([[-1]]).SourceTensors(m)).Message);
        Assert.Contains("exceeds the model's maximum length 64", Assert.Throws<ArgumentException>(() => m.Forward(ones(1, 65, ScalarType.Int64), ones(1, 65, ScalarType.Bool), ones(1, 2, ScalarType.Int64))).Message);
        Assert.Contains("source mask must be bool", Assert.Throws<ArgumentException>(() => m.Encode(src, ones(3, 4, ScalarType.Bool))).Message);
        Assert.Contains("DModel (30) must be a positive multiple of NumHeads (4)", Assert.Throws<ArgumentException>(() => new TransformerConfig { VocabSize = 10, DModel = 30, NumHeads = 4 }.Validate()).Message);
        Assert.Contains("beam size 0", Assert.Throws<ArgumentException>(() => Decoder.Translate(m, src, mask, new DecodingOptions { BeamSize = 0 })).Message);
    }

    [Fact]
    public void Config_RoundTripsThroughJson()
    {
        var c = TransformerConfig.Small(8000) with { Norm = NormPosition.Post, TieEmbeddings = false };
        Assert.Equal(c, TransformerConfig.FromJson(c.ToJson(), "config.json"));
        Assert.Contains("\"Norm\": \"post\"", c.ToJson());
    }
}
