using Transformers.Data;
using Transformers.Recurrent;
using Transformers.Tests.Recurrent;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Translation;

public sealed class RecurrentTranslatorTests
{
    private const int Vocab = 20;

    internal static RecurrentTranslator Tiny(int seed, RecurrentCellKind cell, RecurrentAttention attention, bool inputFeeding = false)
    {
        manual_seed(seed);
        var m = new RecurrentTranslator(RecurrentTranslatorConfig.Tiny(Vocab, cell, attention) with { InputFeeding = inputFeeding });
        m.eval();
        return Sharpen(m);
    }

    /// <summary>
    /// Redraws every parameter from U(-0.5, 0.5) (padding rows stay zero): at the default ±0.1 a tiny model's logits are
    /// nearly flat, and comparisons would pass too easily.
    /// </summary>
    internal static RecurrentTranslator Sharpen(RecurrentTranslator m)
    {
        using var _ = no_grad();
        foreach (var (name, p) in m.named_parameters())
        {
            p.uniform_(-0.5, 0.5);
            if (name.Contains("embedding")) p[m.Special.Pad].zero_();
        }
        return m;
    }

    /// <summary>Three sources of lengths 5, 3, 2 (EOS = 2 last), padded with 0.</summary>
    private static (Tensor Src, Tensor Mask) Source()
    {
        var src = tensor(new long[,] { { 5, 6, 7, 8, 2 }, { 9, 10, 2, 0, 0 }, { 11, 2, 0, 0, 0 } });
        return (src, src.ne(0));
    }

    public static TheoryData<RecurrentCellKind, RecurrentAttention, bool> EveryModel()
    {
        var data = new TheoryData<RecurrentCellKind, RecurrentAttention, bool>();
        foreach (var cell in Enum.GetValues<RecurrentCellKind>())
            foreach (var attention in Enum.GetValues<RecurrentAttention>())
                foreach (var feeding in new[] { false, true })
                    data.Add(cell, attention, feeding);
        return data;
    }

    [Theory]
    [MemberData(nameof(EveryModel))]
    public void CachedSteps_EqualTeacherForcedForward(RecurrentCellKind cell, RecurrentAttention attention, bool inputFeeding)
    {
        using var m = Tiny(1, cell, attention, inputFeeding);
        using var _ = no_grad();
        var (src, mask) = Source();
        var tgt = tensor(new long[,] { { 1, 4, 12, 13, 7, 9, 3 }, { 1, 18, 5, 2, 0, 0, 0 }, { 1, 6, 6, 6, 6, 6, 19 } });
        var full = m.Forward(src, mask, tgt).log_softmax(-1);                                      // [3, 7, vocab]
        Assert.Equal(new long[] { 3, 7, Vocab }, full.shape);
        using var state = m.StartDecoding(m.Encode(src, mask));
        for (int t = 0; t < 7; t++)
            TensorAssert.Close(full[.., t], m.DecodeStep(tgt[.., t], state), 1e-5, $"{cell}/{attention}/feeding {inputFeeding}, step {t}");
        Assert.Equal(7, state.Step);
    }

    /// <summary>Greedy decoding by re-running the teacher-forced forward on the growing prefix (no state).</summary>
    private static List<int> RecomputeGreedy(Seq2SeqModel m, Tensor src, Tensor mask, int limit)
    {
        using var _ = no_grad();
        var prefix = new List<long> { m.Special.Bos };
        for (int s = 0; s < limit; s++)
        {
            long next = m.Forward(src, mask, tensor(prefix.ToArray()).view(1, -1))[0, -1].argmax().item<long>();
            if (next == m.Special.Eos) break;
            prefix.Add(next);
        }
        return prefix.Skip(1).Select(x => (int)x).ToList();
    }

    /// <summary>log P(tokens + EOS | source) from the teacher-forced forward.</summary>
    private static double SequenceLogProb(Seq2SeqModel m, Tensor src, Tensor mask, int[] tokens)
    {
        using var _ = no_grad();
        var tgtIn = tensor(new long[] { m.Special.Bos }.Concat(tokens.Select(t => (long)t)).ToArray()).view(1, -1);
        var tgtOut = tensor(tokens.Select(t => (long)t).Append(m.Special.Eos).ToArray()).view(1, -1, 1);
        return m.Forward(src, mask, tgtIn).log_softmax(-1).gather(2, tgtOut).sum().to(ScalarType.Float64).item<double>();
    }

    [Theory]
    [MemberData(nameof(EveryModel))]
    public void GreedyAndBeam_FromTheSharedDecoder_AgreeWithTheTeacherForcedForward(RecurrentCellKind cell, RecurrentAttention attention, bool inputFeeding)
    {
        using var m = Tiny(2, cell, attention, inputFeeding);
        var (src, mask) = Source();
        var lengths = new[] { 5, 3, 2 };
        var greedy = Decoder.Translate(m, src, mask, new DecodingOptions());
        var beam = Decoder.Translate(m, src, mask, new DecodingOptions { BeamSize = 3, NBest = 3, Normalization = LengthNormalization.None });
        for (int b = 0; b < 3; b++)
        {
            var (one, oneMask) = (src[b..(b + 1), ..lengths[b]], mask[b..(b + 1), ..lengths[b]]);
            int limit = (int)Math.Floor(1.5 * lengths[b]) + 10;
            Assert.Equal(RecomputeGreedy(m, one, oneMask, limit), greedy[b][0].Tokens);
            Assert.Equal(3, beam[b].Count);
            foreach (var h in beam[b].Append(greedy[b][0]))            // beam reordering (Select) must keep every score exact
            {
                double expected = SequenceLogProb(m, one, oneMask, h.Tokens);
                Assert.True(Math.Abs(expected - h.LogProbability) < 2e-4, $"sentence {b}, [{string.Join(" ", h.Tokens)}]: log P {h.LogProbability}, forward says {expected}");
            }
        }
    }

    [Theory]
    [InlineData(RecurrentAttention.Bahdanau, false)]
    [InlineData(RecurrentAttention.LuongDot, false)]
    [InlineData(RecurrentAttention.LuongGeneral, false)]
    [InlineData(RecurrentAttention.Bahdanau, true)]
    [InlineData(RecurrentAttention.LuongGeneral, true)]
    public void Attention_RowsSumToOne_AndPaddingIsExactlyZero(RecurrentAttention attention, bool inputFeeding)
    {
        using var m = Tiny(3, RecurrentCellKind.Gru, attention, inputFeeding);
        using var _ = no_grad();
        var (src, mask) = Source();
        var tgt = tensor(new long[,] { { 1, 5, 6, 7 }, { 1, 9, 0, 0 }, { 1, 0, 0, 0 } });
        var o = m.ForwardWithAttention(src, mask, tgt);
        Assert.Empty(o.Attention!.EncoderSelf);
        Assert.Empty(o.Attention.DecoderSelf);
        var a = Assert.Single(o.Attention.Cross);                                                 // [batch, 1, tgt, src]
        Assert.Equal(new long[] { 3, 1, 4, 5 }, a.shape);
        TensorAssert.Close(ones(3, 1, 4), a.sum(-1), 1e-6, "row sums");
        TensorAssert.AllZero(a[1, .., .., 3..], "sentence 1 padding");
        TensorAssert.AllZero(a[2, .., .., 2..], "sentence 2 padding");
        Assert.True(a[0].gt(0).all().item<bool>(), "every real token gets some weight");
        TensorAssert.Close(m.Forward(src, mask, tgt), o.Logits, 0, "logits with and without capture");
    }

    [Fact]
    public void NoAttention_CapturesNothing()
    {
        using var m = Tiny(3, RecurrentCellKind.Lstm, RecurrentAttention.None);
        var (src, mask) = Source();
        var o = m.ForwardWithAttention(src, mask, tensor(new long[,] { { 1, 5 }, { 1, 9 }, { 1, 0 } }));
        Assert.Empty(o.Attention!.Cross);
    }

    [Fact]
    public void Bahdanau_Scores_MatchAHandComputedExample()
    {
        // W_q = I, W_k = [[1, 1], [0, -1]], b = [0, 0.5], v = [1, -2]; queries s = (0.5, -1) and (0, 0); keys h1 = (1, 0), h2 = (0, 2).
        // s = (0.5, -1): W_q s + W_k h1 + b = (1.5, -0.5) -> vᵀ tanh = 0.905148 + 0.924234 = 1.829383;
        //               W_q s + W_k h2 + b = (2.5, -2.5) -> 0.986614 + 1.973229 = 2.959843; softmax (0.244076, 0.755924).
        // s = (0, 0):   (1, 0.5) -> 0.761594 - 0.924234 = -0.162640; (2, -1.5) -> 0.964028 + 1.810297 = 2.774324; softmax (0.050356, 0.949644).
        using var alignment = new Alignment(RecurrentAttention.Bahdanau, querySize: 2, memorySize: 2, attentionSize: 2);
        var p = alignment.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        using (no_grad())
        {
            p["query.weight"].copy_(tensor(new float[,] { { 1, 0 }, { 0, 1 } }));
            p["key.weight"].copy_(tensor(new float[,] { { 1, 1 }, { 0, -1 } }));
            p["key.bias"].copy_(tensor(new float[] { 0, 0.5f }));
            p["score.weight"].copy_(tensor(new float[,] { { 1, -2 } }));
        }
        using var _ = no_grad();
        var queries = tensor(new float[] { 0.5f, -1, 0, 0 }).view(1, 2, 2);                      // [batch 1, tgt 2, hidden 2]
        var keys = alignment.Keys(tensor(new float[] { 1, 0, 0, 2 }).view(1, 2, 2));               // [batch 1, src 2, attention 2]
        TensorAssert.CloseToValues([1.829382568, 2.959842894, -0.162640159, 2.774324087], alignment.Scores(queries, keys), 1e-5, "scores");
        var all = ones(1, 2, ScalarType.Bool);
        TensorAssert.CloseToValues([0.244076159, 0.755923841, 0.050356246, 0.949643754], alignment.Probabilities(queries, keys, all), 1e-6, "probabilities");
        var firstOnly = tensor(new[] { true, false }).view(1, 2);
        TensorAssert.CloseToValues([1, 0, 1, 0], alignment.Probabilities(queries, keys, firstOnly), 0, "masked");
    }

    [Fact]
    public void LuongScores_MatchAHandComputedExample()
    {
        // s = (1, 2); h1 = (3, -1), h2 = (0.5, 0.5). dot: 1·3 + 2·(-1) = 1, 0.5 + 1 = 1.5.
        // general with W_a = [[0, 1], [2, 0]]: W_a h1 = (-1, 6) -> -1 + 12 = 11; W_a h2 = (0.5, 1) -> 0.5 + 2 = 2.5.
        var s = tensor(new float[] { 1, 2 }).view(1, 1, 2);
        var h = tensor(new float[] { 3, -1, 0.5f, 0.5f }).view(1, 2, 2);
        using var dot = new Alignment(RecurrentAttention.LuongDot, 2, 2, 2);
        using var general = new Alignment(RecurrentAttention.LuongGeneral, 2, 2, 2);
        using (no_grad()) general.named_parameters().Single().parameter.copy_(tensor(new float[,] { { 0, 1 }, { 2, 0 } }));
        using var _ = no_grad();
        TensorAssert.CloseToValues([1, 1.5], dot.Scores(s, dot.Keys(h)), 1e-6, "dot");
        TensorAssert.CloseToValues([11, 2.5], general.Scores(s, general.Keys(h)), 1e-5, "general");
    }

    [Fact]
    public void BatchOfOne_EqualsItsRowInAPaddedBatch()
    {
        using var m = Tiny(4, RecurrentCellKind.Lstm, RecurrentAttention.Bahdanau, inputFeeding: true);
        using var _ = no_grad();
        var (src, mask) = Source();
        var tgt = tensor(new long[,] { { 1, 5, 6 }, { 1, 9, 4 }, { 1, 7, 8 } });
        var batched = m.Forward(src, mask, tgt);
        var alone = m.Forward(src[2..3, ..2], mask[2..3, ..2], tgt[2..3]);                        // no padding at all
        TensorAssert.Close(batched[2..3], alone, 1e-5, "sentence 2 alone vs in the batch");
        var greedy = Decoder.Translate(m, src[2..3, ..2], mask[2..3, ..2], new DecodingOptions { BeamSize = 2 });
        Assert.Single(greedy);
    }

    [Theory]
    [InlineData(RecurrentCellKind.Gru)]
    [InlineData(RecurrentCellKind.Lstm)]
    public void UnidirectionalEncoder_IgnoresPadding_DecodesLikeItsForward_AndReadsOnlyLeftContext(RecurrentCellKind cell)
    {
        manual_seed(7);
        using var m = Sharpen(new RecurrentTranslator(RecurrentTranslatorConfig.Tiny(Vocab, cell, RecurrentAttention.LuongGeneral) with { BidirectionalEncoder = false, HiddenSize = 15 }));
        m.eval();
        using var _ = no_grad();
        var (src, mask) = Source();
        var tgt = tensor(new long[,] { { 1, 5, 6, 7 }, { 1, 9, 4, 3 }, { 1, 7, 8, 8 } });
        var batched = m.Forward(src, mask, tgt);
        TensorAssert.Close(batched[1..2], m.Forward(src[1..2, ..3], mask[1..2, ..3], tgt[1..2]), 1e-5, "sentence 1 alone vs padded");
        using var state = m.StartDecoding(m.Encode(src, mask));
        var logp = batched.log_softmax(-1);
        for (int t = 0; t < 4; t++) TensorAssert.Close(logp[.., t], m.DecodeStep(tgt[.., t], state), 1e-5, $"step {t}");

        // Left to right only: the encoder output at position 1 does not depend on the token at position 3.
        var changed = src.clone();
        changed[0, 3] = 13;
        var a = m.Encode(src[0..1], mask[0..1]).Memory;
        var b = m.Encode(changed[0..1], mask[0..1]).Memory;
        TensorAssert.Close(a[.., ..2], b[.., ..2], 0, "positions before the change");
        Assert.True((a[.., 3] - b[.., 3]).abs().max().item<float>() > 1e-3, "the changed position must differ");

        var config = RecurrentTranslatorConfig.Tiny(Vocab, cell, RecurrentAttention.LuongGeneral);
        using var bidirectional = new RecurrentTranslator(config);
        using var leftToRight = new RecurrentTranslator(config with { BidirectionalEncoder = false });
        Assert.True(leftToRight.parameters().Sum(p => p.numel()) > bidirectional.parameters().Sum(p => p.numel()), "a left-to-right encoder of the full width has more weights");
        var oddBidirectional = RecurrentTranslatorConfig.Tiny(Vocab, cell, RecurrentAttention.None) with { HiddenSize = 15 };
        Assert.Throws<ArgumentException>(() => oddBidirectional.Validate());
    }

    [Fact]
    public void ZeroLengthSource_IsRejectedWithItsIndex_AndEosOnlySourceTranslates()
    {
        using var m = Tiny(5, RecurrentCellKind.Gru, RecurrentAttention.LuongDot);
        var src = tensor(new long[,] { { 5, 2 }, { 0, 0 } });
        var e = Assert.Throws<ArgumentException>(() => m.Forward(src, src.ne(0), tensor(new long[,] { { 1 }, { 1 } })));
        Assert.Contains("source sentence 1 is zero-length", e.Message);
        var none = zeros(1, 0, ScalarType.Int64);
        Assert.Contains("zero-length", Assert.Throws<ArgumentException>(() => m.Encode(none, none.ne(0))).Message);
        // An empty sentence as the batches encode it: EOS alone.
        var eos = tensor(new long[,] { { 2 } });
        var output = Decoder.Translate(m, eos, eos.ne(0), new DecodingOptions { MaxLengthOffset = 4 });
        Assert.True(output[0][0].Tokens.Length <= 5);
        // Padding before a real token is not a prefix mask: rejected rather than silently misread.
        var gap = tensor(new long[,] { { 5, 0, 2 } });
        Assert.Contains("prefix", Assert.Throws<ArgumentException>(() => m.Encode(gap, gap.ne(0))).Message);
    }

    [Fact]
    public void ZeroLengthTarget_GivesEmptyLogits_AndAnEmptyTargetSentenceTrains()
    {
        using var m = Tiny(6, RecurrentCellKind.Lstm, RecurrentAttention.Bahdanau);
        var (src, mask) = Source();
        Assert.Equal(new long[] { 3, 0, Vocab }, m.Forward(src, mask, zeros(3, 0, ScalarType.Int64)).shape);
        using var feeding = Tiny(6, RecurrentCellKind.Lstm, RecurrentAttention.Bahdanau, inputFeeding: true);
        Assert.Equal(new long[] { 3, 0, Vocab }, feeding.Forward(src, mask, zeros(3, 0, ScalarType.Int64)).shape);
        // An empty target sentence is BOS -> EOS: one position with a finite loss and a gradient.
        m.train();
        var batch = new TranslationBatch([[5, 6], [7]], [[], [8, 9]]).ToTensors(m.Special);
        var sums = LabelSmoothedCrossEntropy.Compute(m.Forward(batch.Source, batch.SourceMask, batch.TargetIn), batch.TargetOut, m.Special.Pad, 0.1);
        Assert.True(double.IsFinite(sums.Loss.item<float>()));
        sums.Loss.backward();
    }

    [Fact]
    public void LongSource_500Tokens_Decodes_WithAStateLinearInTheSourceLength()
    {
        using var m = Tiny(7, RecurrentCellKind.Lstm, RecurrentAttention.Bahdanau, inputFeeding: true);
        using var _ = no_grad();
        long StateElements(int length)
        {
            var src = (arange(length) % 16 + 4).view(1, -1);                                      // [1, length], no EOS needed
            using var state = m.StartDecoding(m.Encode(src, src.ne(0)));
            for (int t = 0; t < 30; t++) m.DecodeStep(tensor(new long[] { 5 }), state);           // the state does not grow with steps
            return ((RecurrentDecoderState)state).Tensors.Sum(t => t.numel());
        }
        long small = StateElements(250), large = StateElements(500), larger = StateElements(750);
        Assert.Equal(large - small, larger - large);                                             // exactly linear in the source length
        var longSrc = (arange(500) % 16 + 4).view(1, -1);
        var output = Decoder.Translate(m, longSrc, longSrc.ne(0), new DecodingOptions { MaxLengthRatio = 0, MaxLengthOffset = 20, BeamSize = 2 });
        Assert.True(output[0][0].Tokens.Length <= 20);
    }

    [Fact]
    public void BadIds_AndMasks_AreRejectedWithClearMessages()
    {
        using var m = Tiny(8, RecurrentCellKind.Rnn, RecurrentAttention.LuongGeneral);
        var (src, mask) = Source();
        Assert.Contains("outside the vocabulary of 20", Assert.Throws<ArgumentException>(() => m.Forward(src, mask, tensor(new long[,] { { 1 }, { 25 }, { 1 } }))).Message);
        Assert.Contains("source mask must be bool", Assert.Throws<ArgumentException>(() => m.Encode(src, mask.to(ScalarType.Int64))).Message);
        Assert.Contains("target batch 1 differs", Assert.Throws<ArgumentException>(() => m.Forward(src, mask, tensor(new long[,] { { 1 } }))).Message);
        var tooLong = zeros(1, 1025, ScalarType.Int64) + 4;
        Assert.Contains("source length 1025 exceeds the model's maximum length 1024", Assert.Throws<ArgumentException>(() => m.Encode(tooLong, tooLong.ne(0))).Message);
    }

    [Fact]
    public void Checkpoint_RoundTrip_GivesIdenticalOutputs_AndAnLstmIsNotAGru()
    {
        var dir = Path.Combine(Path.GetTempPath(), "rnn-ckpt-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var m = Tiny(9, RecurrentCellKind.Lstm, RecurrentAttention.LuongGeneral, inputFeeding: true);
            var vocabulary = Enumerable.Range(0, Vocab).Select(i => $"w{i}").ToArray();
            Checkpoint.Save(dir, m, vocabulary);
            var loaded = Checkpoint.Load(dir, TranslatorArchitecture.Lstm);
            using var copy = Assert.IsType<RecurrentTranslator>(loaded.Model);
            Assert.Equal(m.Config, copy.Config);
            var (src, mask) = Source();
            var tgt = tensor(new long[,] { { 1, 5, 6 }, { 1, 9, 4 }, { 1, 7, 8 } });
            using (no_grad()) TensorAssert.Identical(m.Forward(src, mask, tgt), copy.Forward(src, mask, tgt), "logits after Save/Load");

            var asGru = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(dir, TranslatorArchitecture.Gru));
            Assert.Contains(Path.Combine(dir, "model.json"), asGru.Message);
            Assert.Contains("is a 'lstm' model, not 'gru'", asGru.Message);
            // A model.json that claims "gru" over an LSTM config is caught by the registry, naming the file (without the
            // manifest, which would name the edited file first).
            File.Delete(Path.Combine(dir, CheckpointManifest.FileName));
            var json = Path.Combine(dir, "model.json");
            File.WriteAllText(json, File.ReadAllText(json).Replace("\"Architecture\": \"lstm\"", "\"Architecture\": \"gru\""));
            var tampered = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(dir));
            Assert.Contains(json, tampered.Message);
            Assert.Contains("cell is Lstm ('lstm'), but the checkpoint says 'gru'", tampered.Message);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Factory_RebuildsTheRecurrentArchitecturesFromTheirNames()
    {
        foreach (var name in new[] { "rnn", "lstm", "gru" }) Assert.Equal(name, TranslatorFactory.NameOf(TranslatorFactory.Parse(name, "test")));
        Assert.Contains("unknown architecture 'bilstm'", Assert.Throws<InvalidDataException>(() => TranslatorFactory.Parse("bilstm", "test")).Message);
        var config = RecurrentTranslatorConfig.Tiny(Vocab, RecurrentCellKind.Gru, RecurrentAttention.LuongDot);
        using var m = TranslatorFactory.FromConfig(TranslatorFactory.Parse("gru", "test"), config.ToJson(), "test");
        Assert.Equal((TranslatorArchitecture.Gru, "gru"), (m.Architecture, m.ArchitectureName));
        Assert.Contains("\"Attention\": \"luong-dot\"", config.ToJson());
        Assert.Contains("\"Cell\": \"Gru\"", config.ToJson());
    }

    /// <summary>Parameters outside the (tied, identical) embedding table.</summary>
    private static long NonEmbedding(Seq2SeqModel m) =>
        m.named_parameters().Where(p => p.name != "embedding.weight").Sum(p => p.parameter.numel());

    [Theory]
    [InlineData(RecurrentCellKind.Rnn, false)]
    [InlineData(RecurrentCellKind.Lstm, false)]
    [InlineData(RecurrentCellKind.Gru, false)]
    [InlineData(RecurrentCellKind.Rnn, true)]
    [InlineData(RecurrentCellKind.Lstm, true)]
    [InlineData(RecurrentCellKind.Gru, true)]
    public void Presets_MatchTheTransformerParameterCount_WithinFivePercent(RecurrentCellKind cell, bool isBase)
    {
        using var transformer = new TransformerTranslator(isBase ? TransformerConfig.Base(1000) : TransformerConfig.Small(1000));
        using var recurrent = new RecurrentTranslator(isBase ? RecurrentTranslatorConfig.Base(1000, cell) : RecurrentTranslatorConfig.Small(1000, cell));
        double ratio = (double)NonEmbedding(recurrent) / NonEmbedding(transformer);
        Assert.True(Math.Abs(ratio - 1) < 0.05, $"{cell}: {NonEmbedding(recurrent):N0} vs Transformer {NonEmbedding(transformer):N0} non-embedding parameters");
    }
}
