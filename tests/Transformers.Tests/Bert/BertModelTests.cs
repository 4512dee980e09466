using Transformers.Bert;
using Transformers.Onnx;
using static TorchSharp.torch;

namespace Transformers.Tests.Bert;

public sealed class BertModelTests
{
    private static BertModel Tiny(int seed = 0)
    {
        manual_seed(seed);
        var m = new BertModel(BertConfig.Tiny);
        m.eval();
        return m;
    }

    private static readonly long[,] Ids = { { 2, 10, 11, 12, 3, 0 }, { 2, 20, 3, 0, 0, 0 } };
    private static readonly long[,] Mask = { { 1, 1, 1, 1, 1, 0 }, { 1, 1, 1, 0, 0, 0 } };

    [Fact]
    public void Forward_ReturnsEveryRequestedOutput_WithShapes()
    {
        using var m = Tiny();
        var o = m.Forward(tensor(Ids), tensor(Mask), outputs: BertOutputs.HiddenStates | BertOutputs.Attentions);
        Assert.Equal(new long[] { 2, 6, 32 }, o.LastHiddenState.shape);
        Assert.Equal(new long[] { 2, 32 }, o.PooledOutput.shape);
        Assert.Equal(3, o.HiddenStates!.Count);                       // embeddings + 2 layers
        Assert.Equal(2, o.Attentions!.Count);
        Assert.Equal(new long[] { 2, 4, 6, 6 }, o.Attentions[0].shape);
        Assert.True(o.HiddenStates[^1].equal(o.LastHiddenState).all().item<bool>());
        // Padding keys get probability exactly 0 in every layer and head.
        foreach (var a in o.Attentions)
            Assert.Equal(0f, a[1, .., .., 3..].abs().max().item<float>());
        var plain = m.Forward(tensor(Ids), tensor(Mask));
        Assert.Null(plain.HiddenStates);
        Assert.Null(plain.Attentions);
        Assert.True(plain.LastHiddenState.allclose(o.LastHiddenState, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void Padding_DoesNotChangeTheTokens()
    {
        using var m = Tiny();
        var padded = m.Forward(tensor(Ids), tensor(Mask)).LastHiddenState;
        var alone = m.Forward(tensor(new long[,] { { 2, 20, 3 } })).LastHiddenState;
        Assert.True(padded[1, ..3].allclose(alone[0], rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void HeadMask_OfOnes_ChangesNothing_AndZeroHeadIsSilent()
    {
        using var m = Tiny();
        var baseline = m.Forward(tensor(Ids), tensor(Mask)).LastHiddenState;
        var ones_ = m.Forward(tensor(Ids), tensor(Mask), headMask: ones(2, 4)).LastHiddenState;
        Assert.True(baseline.allclose(ones_, rtol: 0, atol: 1e-6));
        var hm = ones(2, 4);
        hm[0, 1] = tensor(0f);
        var o = m.Forward(tensor(Ids), tensor(Mask), outputs: BertOutputs.Attentions, headMask: hm);
        Assert.Equal(0f, o.Attentions![0][.., 1].abs().max().item<float>());
        Assert.False(o.LastHiddenState.allclose(baseline, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void BadInput_GivesMessagesNamingValueAndLimit()
    {
        using var m = Tiny();
        var e1 = Assert.Throws<ArgumentException>(() => m.Forward(tensor(new long[,] { { 2, 100 } })));
        Assert.Contains("100", e1.Message);
        Assert.Contains("vocab_size is 100", e1.Message);
        Assert.Contains("negative", Assert.Throws<ArgumentException>(() => m.Forward(tensor(new long[,] { { 2, -1 } }))).Message);
        // Ids are scanned on the host where they lie: a non-contiguous view and int32 ids are checked as well.
        Assert.Contains("input id 100 is outside the vocabulary", Assert.Throws<ArgumentException>(() => m.Forward(tensor(new long[,] { { 2, 3 }, { 100, 4 } }).t())).Message);
        Assert.Contains("input id -1 is negative", Assert.Throws<ArgumentException>(() => m.Forward(tensor(new int[,] { { 2, -1 } }))).Message);
        Assert.Contains("token type ids must be integers", Assert.Throws<ArgumentException>(() => m.Forward(tensor(Ids), tensor(Mask), zeros(2, 6))).Message);
        var e2 = Assert.Throws<ArgumentException>(() => m.Forward(zeros(1, 65, ScalarType.Int64)));
        Assert.Contains("65", e2.Message);
        Assert.Contains("max_position_embeddings 64", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => m.Forward(tensor(Ids), ones(2, 5, ScalarType.Int64)));
        Assert.Contains("[2, 5]", e3.Message);
        Assert.Contains("[2, 6]", e3.Message);
        Assert.Contains("type_vocab_size is 2", Assert.Throws<ArgumentException>(() => m.Forward(tensor(Ids), tensor(Mask), full(2, 6, 2L))).Message);
        Assert.Contains("[num_hidden_layers 2, num_attention_heads 4]", Assert.Throws<ArgumentException>(() => m.Forward(tensor(Ids), headMask: ones(4))).Message);
        var e4 = Assert.Throws<ArgumentException>(() => new BertModel(BertConfig.Tiny with { HiddenSize = 30 }));
        Assert.Contains("hidden_size (30)", e4.Message);
        Assert.Contains("num_attention_heads (4)", e4.Message);
    }

    [Fact]
    public void Config_ReadsAnHfConfigJson()
    {
        const string hf = """
        {
          "architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1, "gradient_checkpointing": false,
          "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 384, "initializer_range": 0.02,
          "intermediate_size": 1536, "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
          "num_attention_heads": 12, "num_hidden_layers": 6, "pad_token_id": 0, "position_embedding_type": "absolute",
          "transformers_version": "4.8.2", "type_vocab_size": 2, "use_cache": true, "vocab_size": 30522
        }
        """;
        var c = BertConfig.FromJson(hf);
        Assert.Equal(MiniLm.Config with { }, c with { });
        Assert.Equal(c, BertConfig.FromJson(c.ToJson()));
        var bad = Assert.Throws<InvalidDataException>(() => BertConfig.FromJson(hf.Replace("\"num_attention_heads\": 12", "\"num_attention_heads\": 7"), "my/config.json"));
        Assert.Contains("my/config.json", bad.Message);
        Assert.Contains("num_attention_heads (7)", bad.Message);
        Assert.Contains("hidden_act", Assert.Throws<InvalidDataException>(() => BertConfig.FromJson(hf.Replace("\"gelu\"", "\"swishy\""))).Message);
    }

    [Fact]
    public void OnnxImport_RejectsTruncatedAndForeignFiles()
    {
        var notOnnx = Assert.Throws<InvalidDataException>(() => OnnxModel.Parse("hello, I am not a model"u8.ToArray(), "notes.txt"));
        Assert.Contains("notes.txt", notOnnx.Message);
        var empty = Assert.Throws<InvalidDataException>(() => OnnxModel.Parse([], "empty.onnx"));
        Assert.Contains("empty.onnx", empty.Message);
        var onnx = MiniLm.ReadResource("model.onnx");
        var truncated = Assert.Throws<InvalidDataException>(() => OnnxModel.Parse(onnx[..(onnx.Length / 2)], "half.onnx"));
        Assert.Contains("half.onnx", truncated.Message);
        Assert.Contains("truncated", truncated.Message);
    }

    [Fact]
    public void OnnxImport_ListsMissingUnexpectedAndMisShapedTensors()
    {
        var onnx = OnnxModel.Parse(MiniLm.ReadResource("model.onnx"), "model.onnx");
        var e = Assert.Throws<InvalidDataException>(() => BertWeights.FromOnnx(onnx, MiniLm.Config with { NumHiddenLayers = 7, IntermediateSize = 1024 }));
        Assert.Contains("model.onnx does not fit", e.Message);
        Assert.Contains("missing: encoder.layer.6.attention.self.query.weight [384, 384]", e.Message);
        Assert.Contains("mis-shaped: encoder.layer.0.intermediate.dense.weight is [1536, 384] in the file, the config needs [1024, 384]", e.Message);
        var e2 = Assert.Throws<InvalidDataException>(() => BertWeights.FromOnnx(onnx, MiniLm.Config with { NumHiddenLayers = 5 }));
        Assert.Contains("unexpected: encoder.layer.5.output.dense.weight", e2.Message);
    }

    [Fact]
    public void HfDirectory_Errors_NameTheFile()
    {
        var dir = Path.Combine(Path.GetTempPath(), "bert-bad-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var m = Tiny();
            BertWeights.SaveHfDirectory(m, dir);
            var weights = Path.Combine(dir, "model.safetensors");
            var bytes = File.ReadAllBytes(weights);
            File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);
            var e = Assert.Throws<InvalidDataException>(() => BertWeights.LoadHfDirectory(dir));
            Assert.Contains(dir, e.Message);
            File.Delete(weights);
            Assert.Contains("neither model.safetensors nor pytorch_model.bin", Assert.Throws<FileNotFoundException>(() => BertWeights.LoadHfDirectory(dir)).Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void MlmLoss_OnThePredictedPositionsOnly_EqualsTheCrossEntropyOfTheFullLogits()
    {
        manual_seed(3);
        using var m = new BertForMaskedLM(BertConfig.Tiny with { HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0 });
        var ids = tensor(new long[,] { { 2, 10, 11, 12, 3, 0 }, { 2, 20, 21, 3, 0, 0 } });
        var mask = ids.ne(0).to(ScalarType.Int64);
        var labels = full_like(ids, BertForMaskedLM.IgnoreIndex);
        labels[0, 2] = tensor(11L);
        labels[0, 3] = tensor(12L);
        labels[1, 1] = tensor(20L);
        var logits = m.Forward(ids, mask);                                                     // [2, 6, vocab]: every position
        var full = nn.functional.cross_entropy(logits.view(-1, m.Config.VocabSize), labels.view(-1), ignore_index: BertForMaskedLM.IgnoreIndex);
        var gathered = m.Loss(ids, mask, labels);
        Assert.Equal(full.item<float>(), gathered.item<float>(), 5);
        gathered.backward();                                                                   // the gather passes gradients to the encoder
        var grad = m.Bert.WordEmbeddings.grad;
        Assert.NotNull(grad);
        Assert.True(grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Mlm_TinyBertLearnsAFewSentences()
    {
        manual_seed(7);
        using var m = new BertForMaskedLM(BertConfig.Tiny with { HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0 });
        // Ids of five short "sentences" over a 100-token vocabulary: [CLS]=2, [SEP]=3, [MASK]=4, [PAD]=0.
        var ids = tensor(new long[,]
        {
            { 2, 10, 11, 12, 13, 14, 3 }, { 2, 20, 21, 22, 23, 24, 3 }, { 2, 30, 31, 32, 33, 3, 0 },
            { 2, 10, 11, 12, 40, 41, 3 }, { 2, 50, 51, 52, 53, 54, 3 },
        });
        var mask = ids.ne(0).to(ScalarType.Int64);
        var losses = ToyMlm.Train(m, [(ids, mask)], maskId: 4, specialIds: new HashSet<long> { 0, 2, 3 }, steps: 300, learningRate: 3e-3, maskProbability: 0.3, seed: 1);
        float first = losses.Take(10).Average(), last = losses.TakeLast(20).Where(float.IsFinite).Average();
        Assert.True(first > 4.0, $"initial loss {first} should be near ln(100) = 4.6");
        Assert.True(last < 1.0, $"MLM loss went from {first:F3} to {last:F3}");
    }
}

[Collection(SerialCollection.Name)]
public sealed class BertLeakTests
{
    private static readonly long[,] Ids = { { 2, 10, 11, 12, 3, 0 }, { 2, 20, 3, 0, 0, 0 } };
    private static readonly long[,] Mask = { { 1, 1, 1, 1, 1, 0 }, { 1, 1, 1, 0, 0, 0 } };

    [Fact]
    public void NoTensorLeaks_AfterForwardAndTrainingStep()
    {
        using var m = new BertForMaskedLM(BertConfig.Tiny);
        var ids = tensor(Ids);
        var mask = tensor(Mask);
        var labels = tensor(new long[,] { { -100, 10, -100, 12, -100, -100 }, { -100, 20, -100, -100, -100, -100 } });
        var optimizer = TorchSharp.torch.optim.AdamW(m.parameters(), 1e-3);
        void Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            m.Loss(ids, mask, labels).backward();
            optimizer.step();
            using var _ = no_grad();
            m.Bert.Forward(ids, mask, outputs: BertOutputs.Attentions | BertOutputs.HiddenStates);
        }
        Step(); // the optimizer creates its state on the first step
        SerialCollection.Settle();
        long before = Tensor.TotalCount;
        for (int i = 0; i < 5; i++) Step();
        Assert.Equal(before, Tensor.TotalCount);
    }
}
