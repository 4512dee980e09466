using Transformers.Recurrent;
using Transformers.Tests.Recurrent;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Translation;

/// <summary>
/// The shapes a <see cref="RecurrentTranslatorConfig"/> can now take (an encoder wider or deeper than the decoder), the
/// <see cref="RecurrentTranslatorConfig.Compact"/> recipe, the initialisations, and configs saved before these fields existed.
/// </summary>
public sealed class RecurrentRecipeTests
{
    private const int Vocab = 20;

    /// <summary>Encoder 2 layers of 12 per direction (outputs 24 wide), decoder 1 layer of 16: no width or depth shared.</summary>
    private static RecurrentTranslatorConfig Uneven(RecurrentCellKind cell, RecurrentAttention attention) =>
        RecurrentTranslatorConfig.Tiny(Vocab, cell, attention) with { EncoderHiddenSize = 12, NumLayers = 2, DecoderLayers = 1 };

    /// <summary>Three sources of lengths 5, 3, 2 (EOS = 2 last), padded with 0.</summary>
    private static (Tensor Src, Tensor Mask) Source()
    {
        var src = tensor(new long[,] { { 5, 6, 7, 8, 2 }, { 9, 10, 2, 0, 0 }, { 11, 2, 0, 0, 0 } });
        return (src, src.ne(0));
    }

    private static Dictionary<string, long[]> Shapes(nn.Module m) => m.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);

    [Fact]
    public void Compact_IsTheReferenceShape_WithOneDecoderLayer_AndHalfTheParametersOfSmall()
    {
        var config = RecurrentTranslatorConfig.Compact(8000, RecurrentCellKind.Gru);
        Assert.Equal((1, 1, 256, 512, RecurrentAttention.LuongGeneral), (config.NumLayers, config.DecoderLayerCount, config.EncoderDirectionSize, config.EncoderOutputSize, config.Attention));
        Assert.True(config.TieEmbeddings && config.BidirectionalEncoder && !config.InputFeeding,
                    "tied, bidirectional, and every decoder input known in advance, so training takes the fused path");
        using var m = new RecurrentTranslator(config);
        var shapes = Shapes(m);
        Assert.Equal([8000, 256], shapes["embedding.weight"]);
        Assert.Equal([768, 256], shapes["encoder.fused.weight_ih_l0"]);                       // 3 gates x 256, from the 256-wide embedding
        Assert.Equal([768, 256], shapes["encoder.fused.weight_hh_l0_reverse"]);
        Assert.Equal([256, 512], shapes["bridge.weight"]);                                      // [h→_last; h←_1] (512) -> s_0 (256)
        Assert.Equal([768, 256], shapes["decoder.fused.weight_hh_l0"]);
        Assert.Equal([256, 512], shapes["attention.key.weight"]);                               // W_a: h̄_s (512) -> the decoder's 256
        Assert.Equal([256, 768], shapes["attentional.weight"]);                                 // W_c: [c_t (512); s_t (256)] -> h̃_t
        Assert.DoesNotContain(shapes.Keys, k => k.Contains("_l1"));                            // one layer each
        // embedding 8000·256 + encoder 2·(3·256·(256 + 256) + 2·768) + bridge 512·256 + 256 + decoder 3·256·512 + 2·768
        // + W_a 512·256 + W_c 768·256 + 256
        Assert.Equal(2_048_000 + 789_504 + 131_328 + 394_752 + 131_072 + 196_864, m.parameters().Sum(p => p.numel()));
        using var small = new RecurrentTranslator(RecurrentTranslatorConfig.Small(8000, RecurrentCellKind.Gru, RecurrentAttention.LuongGeneral));
        Assert.Equal(7_505_248, small.parameters().Sum(p => p.numel()));                        // the parameter-matched preset of issue 12
    }

    [Fact]
    public void PyTorchInitialisation_KeepsTheModulesBounds_UniformIsLuongs()
    {
        manual_seed(3);
        var shape = RecurrentTranslatorConfig.Compact(Vocab, RecurrentCellKind.Gru) with { EmbeddingSize = 16, HiddenSize = 16, EncoderHiddenSize = 8 };
        Assert.Equal(RecurrentInitialization.Uniform, shape.Initialization);
        using var pytorch = new RecurrentTranslator(shape with { Initialization = RecurrentInitialization.PyTorch });
        using var uniform = new RecurrentTranslator(shape);
        double Max(RecurrentTranslator m, string name) => m.named_parameters().Single(p => p.name == name).parameter.abs().max().item<float>();
        // U(-1/√8, 1/√8) for the encoder (8 per direction), U(-1/√16, 1/√16) for the decoder, U(-1/√fan_in, 1/√fan_in) for linear layers.
        Assert.InRange(Max(pytorch, "encoder.fused.weight_hh_l0"), 0.1, 1 / Math.Sqrt(8));
        Assert.InRange(Max(pytorch, "decoder.fused.weight_ih_l0"), 0.1, 1 / Math.Sqrt(16));
        Assert.InRange(Max(pytorch, "attentional.weight"), 0.1, 1 / Math.Sqrt(32));                // fan_in 16 + 16
        Assert.InRange(Max(pytorch, "embedding.weight"), 0.05, 0.1);
        foreach (var (name, p) in uniform.named_parameters()) Assert.InRange(p.abs().max().item<float>(), 0, 0.1 + 1e-7);
        foreach (var m in new[] { pytorch, uniform }) TensorAssert.AllZero(m.named_parameters().Single(p => p.name == "embedding.weight").parameter[0], "padding row");
    }

    public static TheoryData<RecurrentCellKind, RecurrentAttention> UnevenModels() => new()
    {
        { RecurrentCellKind.Gru, RecurrentAttention.LuongGeneral },
        { RecurrentCellKind.Gru, RecurrentAttention.Bahdanau },
        { RecurrentCellKind.Gru, RecurrentAttention.None },
        { RecurrentCellKind.Lstm, RecurrentAttention.LuongGeneral },
        { RecurrentCellKind.Rnn, RecurrentAttention.Bahdanau },
    };

    [Theory]
    [MemberData(nameof(UnevenModels))]
    public void WiderDeeperEncoder_ThanDecoder_DecodesStepByStepLikeItsForward(RecurrentCellKind cell, RecurrentAttention attention)
    {
        manual_seed(11);
        using var m = RecurrentTranslatorTests.Sharpen(new RecurrentTranslator(Uneven(cell, attention)));
        m.eval();
        var shapes = Shapes(m);
        Assert.Equal([RecurrentCell.GateCount(cell) * 12, 24], shapes["encoder.fused.weight_ih_l1"]);   // layer 2 reads both directions of layer 1
        Assert.DoesNotContain("decoder.fused.weight_ih_l1", shapes.Keys);
        Assert.Equal([16, 24], shapes["bridge.weight"]);                                             // one decoder layer of 16
        using var _ = no_grad();
        var (src, mask) = Source();
        var tgt = tensor(new long[,] { { 1, 4, 12, 13, 7 }, { 1, 18, 5, 2, 0 }, { 1, 6, 6, 6, 19 } });
        var full = m.Forward(src, mask, tgt).log_softmax(-1);                                     // [3, 5, vocab]
        using var state = m.StartDecoding(m.Encode(src, mask));
        for (int t = 0; t < 5; t++)
            TensorAssert.Close(full[.., t], m.DecodeStep(tgt[.., t], state), 1e-5, $"{cell}/{attention}, step {t}");
        Assert.Equal([1, 3, 16], ((RecurrentDecoderState)state).Recurrent.Hidden.shape);         // [decoderLayers, batch, hidden]
        var beam = Decoder.Translate(m, src, mask, new DecodingOptions { BeamSize = 3 });
        Assert.Equal(3, beam.Length);
    }

    [Fact]
    public void LuongDot_NeedsEncoderOutputsAsWideAsTheDecoder()
    {
        var e = Assert.Throws<ArgumentException>(() => Uneven(RecurrentCellKind.Gru, RecurrentAttention.LuongDot).Validate());
        Assert.Contains("luong-dot", e.Message);
        Assert.Contains("24 wide", e.Message);
        (Uneven(RecurrentCellKind.Gru, RecurrentAttention.LuongDot) with { EncoderHiddenSize = 8 }).Validate();     // 2 x 8 = 16: fine
        Assert.Contains("DecoderLayers = 0", Assert.Throws<ArgumentException>(() => (Uneven(RecurrentCellKind.Gru, RecurrentAttention.None) with { DecoderLayers = 0 }).Validate()).Message);
        Assert.Contains("EncoderHiddenSize = 0", Assert.Throws<ArgumentException>(() => (Uneven(RecurrentCellKind.Gru, RecurrentAttention.None) with { EncoderHiddenSize = 0 }).Validate()).Message);
        (Uneven(RecurrentCellKind.Gru, RecurrentAttention.None) with { HiddenSize = 15 }).Validate();   // odd decoder width: the encoder's is given
    }

    [Theory]
    [InlineData(RecurrentCellKind.Gru)]
    [InlineData(RecurrentCellKind.Lstm)]
    public void BackwardDirection_OfAPaddedSentence_StartsAtItsLastToken_AsTheSentenceAlone(RecurrentCellKind cell)
    {
        manual_seed(5);
        using var m = RecurrentTranslatorTests.Sharpen(new RecurrentTranslator(RecurrentTranslatorConfig.Compact(Vocab, cell) with { EmbeddingSize = 16, HiddenSize = 16, EncoderHiddenSize = 8 }));
        m.eval();
        using var _ = no_grad();
        var (src, mask) = Source();
        var memory = m.Encode(src, mask).Memory;                                                 // [3, 5, 16] = [h→ (8); h← (8)]
        var alone = m.Encode(src[1..2, ..3], mask[1..2, ..3]).Memory;                           // sentence 1, no padding: [1, 3, 16]
        TensorAssert.Close(alone[.., .., 8..], memory[1..2, ..3, 8..], 1e-6, "h← of the padded sentence vs alone");
        TensorAssert.Close(alone[.., .., ..8], memory[1..2, ..3, ..8], 1e-6, "h→ of the padded sentence vs alone");
        TensorAssert.AllZero(memory[1, 3..], "outputs at padding");
        // Real tokens written under the padding (mask unchanged) change nothing: no direction reads past the last token.
        var filled = src.clone();
        filled[1, 3] = 13;
        filled[1, 4] = 14;
        TensorAssert.Identical(memory, m.Encode(filled, mask).Memory, "memory when only masked ids differ");
        // And so the bridge starts the decoder alike: the first step's log-probabilities match.
        var tgt = tensor(new long[,] { { 1 }, { 1 }, { 1 } });
        TensorAssert.Close(m.Forward(src[1..2, ..3], mask[1..2, ..3], tgt[1..2]), m.Forward(src, mask, tgt)[1..2], 1e-5, "first logits");
    }

    [Fact]
    public void ConfigJson_NamesEnumsAsTheCommandLineDoes_VocabularyFirstAndSpecialIdsLast()
    {
        // The names configs were written with before one converter derived them from the members (and the CLI's names).
        var recurrent = (RecurrentTranslatorConfig.Tiny(Vocab, RecurrentCellKind.Lstm, RecurrentAttention.LuongGeneral)
                         with { Initialization = RecurrentInitialization.PyTorch }).ToJson().ReplaceLineEndings("\n");
        Assert.Contains("\"Attention\": \"luong-general\"", recurrent);
        Assert.Contains("\"Initialization\": \"pytorch\"", recurrent);
        Assert.Contains("\"Norm\": \"post\"", (TransformerConfig.Tiny(Vocab) with { Norm = NormPosition.Post }).ToJson());
        Assert.Equal("\"inverse-sqrt\"", System.Text.Json.JsonSerializer.Serialize(Transformers.Training.LearningRateDecay.InverseSqrt));
        Assert.StartsWith("{\n  \"VocabSize\": 20,\n  \"Cell\": \"Lstm\"", recurrent);
        Assert.EndsWith("\"PadId\": 0,\n  \"BosId\": 1,\n  \"EosId\": 2,\n  \"UnkId\": 3\n}", recurrent);
    }

    /// <summary>A <see cref="RecurrentTranslatorConfig.Tiny"/> GRU/Bahdanau config as written before EncoderHiddenSize, DecoderLayers and Initialization existed.</summary>
    private const string SavedBeforeTheNewFields = """
        {
          "VocabSize": 20,
          "Cell": "Gru",
          "Attention": "bahdanau",
          "EmbeddingSize": 16,
          "HiddenSize": 16,
          "BidirectionalEncoder": true,
          "NumLayers": 2,
          "AttentionSize": 16,
          "InputFeeding": false,
          "Dropout": 0,
          "TieEmbeddings": true,
          "TeacherForcingRatio": 1,
          "ScheduledSamplingK": 0,
          "MaxLength": 1024,
          "PadId": 0,
          "BosId": 1,
          "EosId": 2,
          "UnkId": 3
        }
        """;

    [Fact]
    public void ConfigSavedBeforeTheNewFields_BuildsTheSameParameters()
    {
        var config = RecurrentTranslatorConfig.FromJson(SavedBeforeTheNewFields, "old model.json", TranslatorArchitecture.Gru);
        Assert.Equal(RecurrentTranslatorConfig.Tiny(Vocab, RecurrentCellKind.Gru, RecurrentAttention.Bahdanau), config);
        Assert.Equal((8, 16, 2, RecurrentInitialization.Uniform), (config.EncoderDirectionSize, config.EncoderOutputSize, config.DecoderLayerCount, config.Initialization));
        using var m = new RecurrentTranslator(config);
        // The state dict of this config before the fields existed (names and shapes; a checkpoint loads only into exactly these).
        var expected = new Dictionary<string, long[]>
        {
            ["embedding.weight"] = [20, 16],
            ["encoder.fused.weight_ih_l0"] = [24, 16], ["encoder.fused.weight_hh_l0"] = [24, 8], ["encoder.fused.bias_ih_l0"] = [24], ["encoder.fused.bias_hh_l0"] = [24],
            ["encoder.fused.weight_ih_l0_reverse"] = [24, 16], ["encoder.fused.weight_hh_l0_reverse"] = [24, 8], ["encoder.fused.bias_ih_l0_reverse"] = [24], ["encoder.fused.bias_hh_l0_reverse"] = [24],
            ["encoder.fused.weight_ih_l1"] = [24, 16], ["encoder.fused.weight_hh_l1"] = [24, 8], ["encoder.fused.bias_ih_l1"] = [24], ["encoder.fused.bias_hh_l1"] = [24],
            ["encoder.fused.weight_ih_l1_reverse"] = [24, 16], ["encoder.fused.weight_hh_l1_reverse"] = [24, 8], ["encoder.fused.bias_ih_l1_reverse"] = [24], ["encoder.fused.bias_hh_l1_reverse"] = [24],
            ["bridge.weight"] = [32, 16], ["bridge.bias"] = [32],
            ["decoder.fused.weight_ih_l0"] = [48, 16], ["decoder.fused.weight_hh_l0"] = [48, 16], ["decoder.fused.bias_ih_l0"] = [48], ["decoder.fused.bias_hh_l0"] = [48],
            ["decoder.fused.weight_ih_l1"] = [48, 16], ["decoder.fused.weight_hh_l1"] = [48, 16], ["decoder.fused.bias_ih_l1"] = [48], ["decoder.fused.bias_hh_l1"] = [48],
            ["attention.query.weight"] = [16, 16], ["attention.key.weight"] = [16, 16], ["attention.key.bias"] = [16], ["attention.score.weight"] = [1, 16],
            ["attentional.weight"] = [16, 32], ["attentional.bias"] = [16],
        };
        var shapes = Shapes(m);
        Assert.Equal(expected.Keys.Order(), shapes.Keys.Order());
        foreach (var (name, shape) in expected) Assert.True(shape.SequenceEqual(shapes[name]), $"{name}: [{string.Join(", ", shapes[name])}], expected [{string.Join(", ", shape)}]");
        // Written again, the config carries the new fields at their defaults and reads back equal.
        Assert.Equal(config, RecurrentTranslatorConfig.FromJson(config.ToJson(), "new model.json", TranslatorArchitecture.Gru));
    }

    [Fact]
    public void CompactCheckpoint_RoundTrips()
    {
        var dir = Path.Combine(Path.GetTempPath(), "rnn-compact-" + Guid.NewGuid().ToString("N"));
        try
        {
            manual_seed(9);
            using var m = new RecurrentTranslator(RecurrentTranslatorConfig.Compact(Vocab, RecurrentCellKind.Gru) with { EmbeddingSize = 16, HiddenSize = 16, EncoderHiddenSize = 12 });
            m.eval();
            Checkpoint.Save(dir, m, Enumerable.Range(0, Vocab).Select(i => $"w{i}").ToArray());
            using var copy = Assert.IsType<RecurrentTranslator>(Checkpoint.Load(dir, TranslatorArchitecture.Gru).Model);
            Assert.Equal(m.Config, copy.Config);
            Assert.Contains("\"Initialization\": \"uniform\"", File.ReadAllText(Path.Combine(dir, "model.json")));
            var (src, mask) = Source();
            var tgt = tensor(new long[,] { { 1, 5, 6 }, { 1, 9, 4 }, { 1, 7, 8 } });
            using (no_grad()) TensorAssert.Identical(m.Forward(src, mask, tgt), copy.Forward(src, mask, tgt), "logits after Save/Load");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }
}
