using TorchSharp;
using Transformers.Attention;
using Transformers.Bert;
using Transformers.Data;
using Transformers.Inspection;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Inspection;

/// <summary>Capture from tiny BERT and Transformer models, input preparation, and Michel et al.'s importance.</summary>
// Serial: its tiny models are seeded through libtorch's global RNG, which parallel test classes also draw from.
[Collection(SerialCollection.Name)]
public sealed class CaptureAndImportanceTests
{
    private static readonly string[] Vocabulary = Enumerable.Range(0, 100).Select(i => i switch
    {
        0 => "[PAD]", 1 => "[CLS]", 2 => "[SEP]", 3 => "[MASK]", 4 => ".", _ => "w" + i,
    }).ToArray();

    private static BertModel TinyBert(int seed)
    {
        manual_seed(seed);
        var m = new BertModel(BertConfig.Tiny);
        m.eval();
        return m;
    }

    [Fact]
    public void Bert_CaptureEqualsTheForwardsProbabilities()
    {
        using var model = TinyBert(1);
        var input = new InspectionInput([1, 7, 8, 4, 2], ["[CLS]", "w7", "w8", ".", "[SEP]"], []);
        var record = AttentionCapture.FromBert(model, input, "tiny");
        Assert.Equal(input.Tokens, record.SourceTokens);
        Assert.Null(record.TargetTokens);
        Assert.Equal(2, record.Layers.Count);
        using var _ = no_grad();
        var reference = model.Forward(tensor(input.Ids).unsqueeze(0), outputs: BertOutputs.Attentions).Attentions!;
        for (int l = 0; l < 2; l++)
        {
            var layer = record.Layers[l];
            Assert.Equal((AttentionKind.EncoderSelf, l, 4, 5, 5), (layer.Kind, layer.Layer, layer.Heads, layer.Queries, layer.Keys));
            Assert.Equal(reference[l].flatten().data<float>().ToArray(), layer.Probabilities);
            for (int h = 0; h < 4; h++)
                for (int q = 0; q < 5; q++) Assert.Equal(1.0, layer.Row(h, q).ToArray().Sum(), 1e-5);
        }
    }

    [Fact]
    public void BertText_IsTruncatedWithANote_AndEmptyTextIsAnError()
    {
        Func<string, int[]> tokenize = text => [1, .. text.Split(' ').Select(w => int.Parse(w[1..])), 2];
        var words = string.Join(' ', Enumerable.Range(0, 20).Select(i => "w" + (10 + i)));
        var input = AttentionCapture.PrepareBertText(words, tokenize, Vocabulary, maxTokens: 8);
        Assert.Equal([1, 10, 11, 12, 13, 14, 15, 2], input.Ids);
        Assert.Equal(["[CLS]", "w10", "w11", "w12", "w13", "w14", "w15", "[SEP]"], input.Tokens);
        var note = Assert.Single(input.Notes);
        Assert.Contains("22 word pieces", note);
        Assert.Contains("truncated", note);
        Assert.Contains("14 dropped", note);
        Assert.Empty(AttentionCapture.PrepareBertText("w10 w11", tokenize, Vocabulary, 8).Notes);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => AttentionCapture.PrepareBertText("", tokenize, Vocabulary, 8)).Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => AttentionCapture.PrepareBertText(" \n\t", tokenize, Vocabulary, 8)).Message);
    }

    private static TransformerTranslator TinyTranslator(int seed)
    {
        manual_seed(seed);
        var m = new TransformerTranslator(TransformerConfig.Tiny(Vocabulary.Length) with { PadId = 0, BosId = 1, EosId = 2, UnkId = 3 });
        m.eval();
        return m;
    }

    [Fact]
    public void Translator_CaptureHasEveryKind_WithCausalDecoderSelfAttention()
    {
        using var model = TinyTranslator(2);
        var source = AttentionCapture.PreparePretokenized("w5 w6 zzz w7", Vocabulary, 3, 60, "source");
        Assert.Equal([5, 6, 3, 7], source.Ids);
        Assert.Contains("zzz", Assert.Single(source.Notes));
        var target = AttentionCapture.PreparePretokenized("w9 w10", Vocabulary, 3, 60, "target");
        var record = AttentionCapture.FromTranslator(model, Vocabulary, source, target, "tiny translator");
        Assert.Equal(["w5", "w6", "[MASK]", "w7", "[SEP]"], record.SourceTokens);   // UNK id 3 is named by its vocabulary line; EOS (2) appended
        Assert.Equal(["[CLS]", "w9", "w10"], record.TargetTokens);                   // BOS (1) first
        Assert.Equal([AttentionKind.EncoderSelf, AttentionKind.DecoderSelf, AttentionKind.Cross], record.Kinds);
        Assert.All(record.Layers, l => Assert.Equal(2, l.Heads));
        Assert.Equal((5, 5), (record.LayersOf(AttentionKind.EncoderSelf)[1].Queries, record.LayersOf(AttentionKind.EncoderSelf)[1].Keys));
        Assert.Equal((3, 5), (record.LayersOf(AttentionKind.Cross)[0].Queries, record.LayersOf(AttentionKind.Cross)[0].Keys));
        foreach (var layer in record.LayersOf(AttentionKind.DecoderSelf))
            for (int h = 0; h < layer.Heads; h++)
                for (int q = 0; q < 3; q++)
                    for (int k = q + 1; k < 3; k++) Assert.Equal(0f, layer[h, q, k]);    // no look-ahead: exactly 0
        var stats = HeadStatisticsCalculator.Compute(record);
        Assert.Equal(12, stats.Count);                                                   // 3 kinds x 2 layers x 2 heads
        Assert.All(stats.Where(s => s.Kind == AttentionKind.DecoderSelf), s => Assert.Equal(0, s.Next!.Value));
    }

    private sealed class NoAttentionModel() : Seq2SeqModel("NoAttention")
    {
        public override int VocabSize => 100;
        public override SpecialTokens Special => new(0, 1, 2, 3);
        public override int MaxLength => 64;
        public override TranslatorArchitecture Architecture => TranslatorArchitecture.Lstm;
        public override string ConfigJson() => "{}";
        public override Tensor Forward(Tensor src, Tensor srcMask, Tensor tgtIn) => throw new NotSupportedException();
        public override EncoderOutput Encode(Tensor src, Tensor srcMask) => throw new NotSupportedException();
        public override DecoderState StartDecoding(EncoderOutput encoded) => throw new NotSupportedException();
        public override Tensor DecodeStep(Tensor prevTokens, DecoderState state) => throw new NotSupportedException();
    }

    [Fact]
    public void ModelWithoutAttention_IsAClearError()
    {
        using var model = new NoAttentionModel();
        var input = new InspectionInput([5], ["w5"], []);
        var e = Assert.Throws<ArgumentException>(() => AttentionCapture.FromTranslator(model, Vocabulary, input, input, "x"));
        Assert.Contains("'lstm' model", e.Message);
        Assert.Contains("does not expose its attention", e.Message);
    }

    [Fact]
    public void Ablate_MasksExactlyOneHeadPerCall()
    {
        // A loss that reads which head is off: 10·layer + head + 1 (0 when none is off).
        var m = HeadImportance.Ablate(AttentionKind.EncoderSelf, 2, 3, "test", mask =>
        {
            if (mask is null) return 0.5;
            var v = mask.data<float>().ToArray();
            Assert.Equal(5, v.Count(x => x == 1));
            int off = Array.IndexOf(v, 0f);
            return 0.5 + 10 * (off / 3) + off % 3 + 1;
        });
        Assert.Equal(0.5, m.BaseLoss);
        Assert.Equal(new double[,] { { 1, 2, 3 }, { 11, 12, 13 } }, m.Delta);
    }

    [Fact]
    public void MaskedLmImportance_EqualsMaskingByZeroingTheOutputProjection()
    {
        // A tiny BERT trained briefly on a repeating pattern, so that heads matter.
        manual_seed(3);
        using var mlm = new BertForMaskedLM(BertConfig.Tiny with { HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0 });
        var ids = tensor(new long[,] { { 1, 10, 11, 12, 13, 4, 2 }, { 1, 20, 21, 22, 23, 4, 2 }, { 1, 10, 21, 12, 23, 4, 2 } });
        var mask = ones_like(ids);
        Transformers.Tests.Bert.ToyMlm.Train(mlm, [(ids, mask)], maskId: 3, new HashSet<long> { 0, 1, 2 }, steps: 60, learningRate: 5e-3, maskProbability: 0.3);
        var labels = full_like(ids, BertForMaskedLM.IgnoreIndex);
        labels[.., 2] = ids[.., 2];
        var input = ids.clone();
        input[.., 2] = tensor(3L);                                                     // predict the masked position from its context
        var importance = HeadImportance.ForMaskedLM(mlm, input, mask, labels);
        Assert.Equal(("mlm", 2, 4), (importance.Loss, importance.Layers, importance.Heads));

        // Independent route: the BERT's attention modules with a head's W^O columns zeroed, no head mask passed.
        var attentions = mlm.named_modules().Where(x => x.module is MultiHeadAttention).Select(x => (MultiHeadAttention)x.module).ToList();
        Assert.Equal(2, attentions.Count);
        using var _ = no_grad();
        double baseLoss = mlm.Loss(input, mask, labels).item<float>();
        Assert.Equal(baseLoss, importance.BaseLoss, 1e-6);
        var before = attentions[1].named_parameters().Single(p => p.name == "output.weight").parameter.clone();
        for (int l = 0; l < 2; l++)
            for (int h = 0; h < 4; h++)
            {
                var headMask = ones(2, 4);
                headMask[l, h] = tensor(0f);
                double masked;
                using (HeadImportance.MaskByWeights(attentions, headMask)) masked = mlm.Loss(input, mask, labels).item<float>();
                Assert.Equal(masked - baseLoss, importance.Delta[l, h], 1e-4);
            }
        Assert.True(Enumerable.Range(0, 8).Any(i => Math.Abs(importance.Delta[i / 4, i % 4]) > 1e-4), $"no head changed the loss {baseLoss}: {string.Join(" ", importance.Delta.Cast<double>())}");
        Assert.True(before.allclose(attentions[1].named_parameters().Single(p => p.name == "output.weight").parameter, rtol: 0, atol: 0), "weights not restored");
    }

    [Fact]
    public void SentenceEmbeddingImportance_IsOneMinusCosineOfTheMaskedEmbedding()
    {
        using var model = TinyBert(6);
        int[][] sentences = [[1, 10, 11, 12, 4, 2], [1, 20, 21, 2, 0, 0]];
        var ids = tensor(sentences.SelectMany(x => x.Select(i => (long)i)).ToArray()).view(2, 6);
        var mask = ids.ne(0).to(ScalarType.Int64);
        var importance = HeadImportance.ForSentenceEmbedding(model, ids, mask);
        Assert.Equal(("embedding", 0.0), (importance.Loss, importance.BaseLoss));

        // Independent route: SentenceEmbedder (its own pooling and normalisation) on weights with the head zeroed.
        var embedder = new SentenceEmbedder(model, text => sentences[int.Parse(text)].TakeWhile((id, i) => i == 0 || id != 0).ToArray());
        var reference = embedder.Embed(["0", "1"]);
        var attentions = model.named_modules().Where(x => x.module is MultiHeadAttention).Select(x => (MultiHeadAttention)x.module).ToList();
        for (int l = 0; l < 2; l++)
            for (int h = 0; h < 4; h++)
            {
                var headMask = ones(2, 4);
                headMask[l, h] = tensor(0f);
                float[][] masked;
                using (HeadImportance.MaskByWeights(attentions, headMask)) masked = embedder.Embed(["0", "1"]);
                double expected = Enumerable.Range(0, 2).Average(b => 1 - masked[b].Zip(reference[b], (x, y) => (double)x * y).Sum());
                Assert.Equal(expected, importance.Delta[l, h], 1e-5);
                Assert.True(importance.Delta[l, h] > 0, $"masking L{l} H{h} left the embedding unchanged");
            }
    }

    [Fact]
    public void TranslatorImportance_HasAMatrixPerKind_AndRestoresTheWeights()
    {
        using var model = TinyTranslator(4);
        var batch = new TranslationBatch([[5, 6, 7], [8, 9]], [[10, 11], [12, 13, 14]]).ToTensors(model.Special);
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var result = HeadImportance.ForTranslator(model, batch.Source, batch.SourceMask, batch.TargetIn, batch.TargetOut);
        Assert.Equal([AttentionKind.EncoderSelf, AttentionKind.DecoderSelf, AttentionKind.Cross], result.Select(r => r.Kind));
        Assert.All(result, r => Assert.Equal(("translation", 2, 2), (r.Loss, r.Layers, r.Heads)));
        using var _ = no_grad();
        var logits = model.Forward(batch.Source, batch.SourceMask, batch.TargetIn);
        double expected = nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), batch.TargetOut.view(-1), ignore_index: 0).item<float>();
        Assert.All(result, r => Assert.Equal(expected, r.BaseLoss, 1e-6));
        Assert.All(result, r => Assert.Contains(r.Delta.Cast<double>(), d => Math.Abs(d) > 1e-6));
        foreach (var (name, t) in model.state_dict()) Assert.True(before[name].allclose(t, rtol: 0, atol: 0), $"{name} changed");
    }
}
