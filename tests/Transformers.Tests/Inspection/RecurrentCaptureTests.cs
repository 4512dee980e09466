using Transformers.Inspection;
using Transformers.Recurrent;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Inspection;

public sealed class RecurrentCaptureTests
{
    private static readonly string[] Vocabulary = Enumerable.Range(0, 20).Select(i => i switch { 0 => "[PAD]", 1 => "[BOS]", 2 => "[EOS]", 3 => "[UNK]", _ => $"w{i}" }).ToArray();

    [Fact]
    public void LstmWithAttention_RecordsItsAlignmentAndEveryGateOverTime()
    {
        manual_seed(1);
        using var model = new RecurrentTranslator(RecurrentTranslatorConfig.Tiny(20, RecurrentCellKind.Lstm, RecurrentAttention.Bahdanau));
        model.eval();
        var source = new InspectionInput([5, 6, 7], ["w5", "w6", "w7"], []);
        var target = new InspectionInput([8, 9], ["w8", "w9"], []);
        var record = AttentionCapture.FromTranslator(model, Vocabulary, source, target, "lstm");

        var layer = Assert.Single(record.Layers);
        Assert.Equal(AttentionKind.Recurrent, layer.Kind);
        Assert.Equal(1, layer.Heads);
        Assert.Equal((3, 4), (layer.Queries, layer.Keys));                     // [BOS] w8 w9 over w5 w6 w7 [EOS]
        for (int q = 0; q < 3; q++)
            Assert.Equal(1.0, layer.Probabilities.Skip(q * 4).Take(4).Sum(), 5);

        int layers = model.Config.NumLayers;
        Assert.Equal(3 * layers, record.Gates.Count);                          // encoder, encoder-backward, decoder per layer
        var enc = record.Gates.Single(g => g.Side == "encoder" && g.Layer == 0);
        Assert.Equal(["c", "f", "g", "h", "i", "o"], enc.Gates.Keys.Order());
        Assert.Equal(4, enc.Steps);
        // c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t, checked on the recorded numbers (c_{-1} = 0).
        int u = enc.Units;
        for (int t = 0; t < enc.Steps; t++)
            for (int k = 0; k < u; k++)
            {
                float prev = t == 0 ? 0 : enc.Gates["c"][(t - 1) * u + k];
                float expected = enc.Gates["f"][t * u + k] * prev + enc.Gates["i"][t * u + k] * enc.Gates["g"][t * u + k];
                Assert.Equal(expected, enc.Gates["c"][t * u + k], 5);
            }
        Assert.Equal(3, record.Gates.Single(g => g.Side == "decoder" && g.Layer == 0).Steps);
        Assert.Contains("\"encoder-backward\"", AttentionJson.Serialize(record, HeadStatisticsCalculator.Compute(record), []));
    }

    [Fact]
    public void RecurrentWithoutAttention_IsAClearError()
    {
        manual_seed(2);
        using var model = new RecurrentTranslator(RecurrentTranslatorConfig.Tiny(20, RecurrentCellKind.Gru, RecurrentAttention.None));
        var input = new InspectionInput([5], ["w5"], []);
        var e = Assert.Throws<ArgumentException>(() => AttentionCapture.FromTranslator(model, Vocabulary, input, input, "gru"));
        Assert.Contains("'gru' model", e.Message);
        Assert.Contains("does not expose its attention", e.Message);
    }
}

public sealed class TranslatorHeadMaskTests
{
    [Fact]
    public void HeadMask_EqualsZeroingTheHeadsColumnsOfWo_ForEveryKind()
    {
        manual_seed(3);
        using var model = new TransformerTranslator(TransformerConfig.Tiny(20));
        model.eval();
        var src = tensor(new long[,] { { 5, 6, 7, 2 } });
        var srcMask = ones(1, 4, ScalarType.Bool);
        var tgt = tensor(new long[,] { { 1, 8, 9 } });
        using var _ = no_grad();
        var baseline = model.Forward(src, srcMask, tgt);
        var all = ones(2, 2);
        Assert.True(model.Forward(src, srcMask, tgt, new TranslatorHeadMask(all, all, all)).allclose(baseline, rtol: 0, atol: 1e-6));
        var modules = HeadImportance.AttentionModules(model);
        foreach (var (kind, layers) in modules)
        {
            var hm = ones(2, 2);
            hm[1, 0] = tensor(0f);
            var mask = kind switch
            {
                AttentionKind.EncoderSelf => new TranslatorHeadMask(EncoderSelf: hm),
                AttentionKind.DecoderSelf => new TranslatorHeadMask(DecoderSelf: hm),
                _ => new TranslatorHeadMask(Cross: hm),
            };
            var masked = model.Forward(src, srcMask, tgt, mask);
            Tensor reference;
            using (HeadImportance.MaskByWeights(layers, hm)) reference = model.Forward(src, srcMask, tgt);   // independent route
            Assert.True(masked.allclose(reference, rtol: 0, atol: 1e-5), $"{kind}");
            Assert.False(masked.allclose(baseline, rtol: 0, atol: 1e-5), $"{kind}: masking changed nothing");
        }
        Assert.Contains("[layers 2, heads 2]", Assert.Throws<ArgumentException>(() => model.Forward(src, srcMask, tgt, new TranslatorHeadMask(Cross: ones(3, 2)))).Message);
    }
}
