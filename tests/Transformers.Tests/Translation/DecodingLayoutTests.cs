using TorchSharp.Modules;
using Transformers.Modules;
using Transformers.Recurrent;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Translation;

/// <summary>
/// <see cref="Seq2SeqModel.UseInputMajorStorage"/> (what translate, evaluate and serve do on the CPU) changes where the
/// weights lie, nothing else: the same state dict, logits and translations as the model as stored, tied or not.
/// </summary>
public sealed class DecodingLayoutTests
{
    private const int Vocab = 20;

    private static Seq2SeqModel Make(TranslatorArchitecture architecture, bool tie)
    {
        manual_seed(5);
        Seq2SeqModel model = architecture == TranslatorArchitecture.Transformer
            ? new TransformerTranslator(TransformerConfig.Tiny(Vocab) with { TieEmbeddings = tie })
            : RecurrentTranslatorTests.Sharpen(new RecurrentTranslator(RecurrentTranslatorConfig.Tiny(Vocab, RecurrentCellKind.Gru, RecurrentAttention.LuongGeneral)
                                                                        with { TieEmbeddings = tie, InputFeeding = true }));
        model.eval();
        return model;
    }

    [Theory]
    [InlineData(TranslatorArchitecture.Transformer, true)]
    [InlineData(TranslatorArchitecture.Transformer, false)]
    [InlineData(TranslatorArchitecture.Gru, true)]
    [InlineData(TranslatorArchitecture.Gru, false)]
    public void InputMajorStorage_KeepsValuesLogitsAndTranslations(TranslatorArchitecture architecture, bool tie)
    {
        using var usual = Make(architecture, tie);
        using var relaid = Make(architecture, tie);
        relaid.load_state_dict(usual.state_dict());                                      // the same weights, whatever else drew from the RNG meanwhile
        int linears = relaid.named_modules().Count(m => m.Item2 is Linear);

        int count = relaid.UseInputMajorStorage();

        Assert.Equal(linears + (tie ? 1 : 0), count);                                    // every Linear, and the tied output embedding
        foreach (var (name, module) in relaid.named_modules())
            if (module is Linear linear) Assert.True(LinearLayout.IsInputMajor(linear.weight!), name);
        var embedding = relaid.named_parameters().Single(p => p.name == "embedding.weight").parameter;
        Assert.Equal(tie, LinearLayout.IsInputMajor(embedding));
        var before = usual.state_dict();
        var after = relaid.state_dict();
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (name, value) in before)
            Assert.True(value.equal(after[name]).all().item<bool>(), name);

        var src = tensor(new long[,] { { 5, 6, 7, 8, 2 }, { 9, 10, 2, 0, 0 } });
        var mask = src.ne(0);
        var tgt = tensor(new long[,] { { 1, 4, 5, 6 }, { 1, 7, 8, 0 } });
        using (no_grad())
        {
            var diff = (usual.Forward(src, mask, tgt) - relaid.Forward(src, mask, tgt)).abs().max().item<float>();
            Assert.True(diff < 1e-5f, $"teacher-forced logits differ by {diff}");
        }
        foreach (int beam in new[] { 1, 3 })
        {
            var options = new DecodingOptions { BeamSize = beam, NBest = beam };
            var expected = Decoder.Translate(usual, src, mask, options);
            var actual = Decoder.Translate(relaid, src, mask, options);
            for (int b = 0; b < expected.Length; b++)
            {
                Assert.Equal(expected[b].Select(h => h.Tokens), actual[b].Select(h => h.Tokens));
                for (int h = 0; h < expected[b].Count; h++)
                    Assert.True(Math.Abs(expected[b][h].Score - actual[b][h].Score) < 1e-4, $"sentence {b}, hypothesis {h}: scores {expected[b][h].Score} and {actual[b][h].Score}");
                Assert.NotEmpty(expected[b][0].Tokens);                                  // a real translation, not two empty ones
            }
        }
        Assert.Equal(0, relaid.UseInputMajorStorage());                                  // already laid out: nothing to do
    }
}
