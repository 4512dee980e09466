using Transformers.Bert;
using Transformers.Bert.Pretraining;
using Transformers.Tokenizer;
using Transformers.Tokenizer.Training;
using Transformers.Training;
using static TorchSharp.torch;

namespace Transformers.Tests.Bert;

/// <summary>
/// Masked-language-model pretraining: BERT's 80/10/10 masking (rates, specials, whole words, seeds), a tiny model that
/// learns and resumes exactly, HF-named checkpoints, and fill-mask.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class PretrainingTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "mlm-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    private static readonly string[] Subjects = ["le chat", "le chien", "la souris", "un oiseau", "le cheval", "une vache"];
    private static readonly string[] Verbs = ["mange", "regarde", "suit", "cherche"];
    private static readonly string[] Objects = ["le fromage", "la balle", "le jardin", "une pomme", "les fleurs"];

    /// <summary>Sentences of a tiny grammar: subject verb object, 120 distinct.</summary>
    private static List<string> Sentences() =>
        Subjects.SelectMany(s => Verbs.SelectMany(v => Objects.Select(o => $"{s} {v} {o}"))).ToList();

    private static WordPieceTokenizer Tokenizer(IEnumerable<string> text, int size = 120) =>
        WordPieceTokenizer.Create(new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = size, Tokenizer = WordPieceOptions.Cased }).Train(text).Vocabulary, WordPieceOptions.Cased);

    private static MlmData Data(MlmDataOptions? options = null, int copies = 1)
    {
        var text = Enumerable.Repeat(Sentences(), copies).SelectMany(s => s).ToList();
        return new MlmData(text, Sentences().Take(12).ToList(), Tokenizer(text), options ?? new MlmDataOptions { MaxTokensPerBatch = 256 });
    }

    [Fact]
    public void Masking_Selects15Percent_Then80PercentMask10Random10Kept_AndNeverTheSpecialTokens()
    {
        var data = Data(new MlmDataOptions { MaxTokensPerBatch = 1 << 20 }, copies: 60);           // one batch of ~50,000 tokens
        var batch = data.Epoch(0).Single();
        var masked = data.Masked(batch, 0, 0);
        var t = data.Tokenizer;
        int eligible = 0, selected = 0, asMask = 0, kept = 0;
        for (int i = 0; i < masked.Labels.Length; i++)
        {
            long original = masked.Labels[i] == BertForMaskedLM.IgnoreIndex ? masked.Inputs[i] : masked.Labels[i];
            bool special = original == t.ClassificationId || original == t.SeparatorId || original == t.PaddingId;
            if (special)
            {
                Assert.Equal(BertForMaskedLM.IgnoreIndex, masked.Labels[i]);
                continue;
            }
            eligible++;
            if (masked.Labels[i] == BertForMaskedLM.IgnoreIndex) continue;
            selected++;
            if (masked.Inputs[i] == t.MaskId) asMask++;
            else if (masked.Inputs[i] == masked.Labels[i]) kept++;
        }
        // Binomial bounds at about 4.5 standard deviations: 15 % of ~40,000 tokens ±0.8 points; of ~6,000 selected, 80 % ±2.5, 10 % ±2.
        Assert.InRange((double)selected / eligible, 0.142, 0.158);
        Assert.InRange((double)asMask / selected, 0.775, 0.825);
        Assert.InRange((double)kept / selected, 0.08, 0.12 + 1.0 / t.Vocabulary.Count);           // a random draw may hit the same token
        Assert.Equal(selected, masked.Predicted);
    }

    [Fact]
    public void Masks_DependOnlyOnSeedEpochAndBatch()
    {
        var data = Data();
        var batches = data.Epoch(0);
        Assert.Equal(data.Masked(batches[1], 0, 1).Inputs, data.Masked(batches[1], 0, 1).Inputs);
        Assert.NotEqual(data.Masked(batches[1], 0, 1).Inputs, data.Masked(batches[1], 1, 1).Inputs);       // a new mask each epoch
        Assert.Equal(data.Epoch(3).Select(b => b.Tokens), data.Epoch(3).Select(b => b.Tokens));
        Assert.All(data.HeldOut, b => Assert.True(b.Predicted > 0));
    }

    [Fact]
    public void WholeWordMasking_SelectsAPieceWithTheWordItContinues()
    {
        var text = Enumerable.Repeat("anticonstitutionnellement extraordinairement incompréhensible", 400).ToList();
        var tokenizer = Tokenizer(text.Append("a b c d e f g h i j k l m n o p q r s t u v w x y z é"), size: 60);
        var data = new MlmData(text, [], tokenizer, new MlmDataOptions { WholeWordMask = true, MaxTokensPerBatch = 1 << 20, MaskProbability = 0.3 });
        var masked = data.Masked(data.Epoch(0).Single(), 0, 0);
        int continuations = 0;
        for (int i = 1; i < masked.Labels.Length; i++)
        {
            long id = masked.Labels[i] == BertForMaskedLM.IgnoreIndex ? masked.Inputs[i] : masked.Labels[i];
            if (!tokenizer.IdToToken((int)id).StartsWith("##", StringComparison.Ordinal) || masked.Inputs[i - 1] == tokenizer.ClassificationId) continue;
            continuations++;
            Assert.Equal(masked.Labels[i - 1] != BertForMaskedLM.IgnoreIndex, masked.Labels[i] != BertForMaskedLM.IgnoreIndex);
        }
        Assert.True(continuations > 1000, $"{continuations} continuation pieces: the words were not split");
    }

    private static MlmTrainerOptions Steps(long n) => new()
    {
        Schedule = new LearningRateSchedule { PeakLearningRate = 3e-3, WarmupSteps = 5, Decay = LearningRateDecay.Constant },
        MaxSteps = n, EvalEverySteps = 4, Seed = 7,
    };

    private static BertForMaskedLM Tiny(MlmData data)
    {
        manual_seed(11);
        return new BertForMaskedLM(new MlmRunSpec { Preset = MlmPreset.Tiny }.Config(data.Tokenizer.Vocabulary.Count, data.Tokenizer.PaddingId));
    }

    [Fact]
    public void TinyModel_Learns_AndResumesExactly_FromItsHfNamedCheckpoint()
    {
        var data = Data(copies: 4);
        var straight = new List<double>();
        using (var model = Tiny(data))
            new MlmTrainer(model, data, Steps(12), Path.Combine(root, "a")) { OnStep = s => straight.Add(s.Loss) }.Run();

        var resumed = new List<double>();
        using (var model = Tiny(data))
            Assert.Equal(TrainingOutcome.StepLimit, new MlmTrainer(model, data, Steps(6), Path.Combine(root, "b")) { OnStep = s => resumed.Add(s.Loss) }.Run());
        manual_seed(999);                                                                       // the resume must not depend on the process's RNG
        var checkpoint = MlmCheckpoint.Load(Path.Combine(root, "b", "last"), withTrainerState: true);
        using (checkpoint.Model)
        {
            var trainer = new MlmTrainer(checkpoint.Model, data, Steps(12), Path.Combine(root, "b")) { OnStep = s => resumed.Add(s.Loss) };
            trainer.Resume(checkpoint);
            trainer.Run();
        }
        Assert.Equal(12, straight.Count);
        Assert.Equal(straight, resumed);                                                        // exact, not approximate
        var logged = File.ReadLines(Path.Combine(root, "b", "train.jsonl")).Where(l => l.Contains("\"kind\":\"step\"")).ToList();
        Assert.Equal(12, logged.Count);                                                         // the resumed log holds every step once
        Assert.True(straight.Skip(8).Average() < straight.Take(4).Average(), $"loss {string.Join(", ", straight.Select(l => l.ToString("F2")))}");

        var a = MlmCheckpoint.Load(Path.Combine(root, "a", "last"));
        var b = MlmCheckpoint.Load(Path.Combine(root, "b", "last"));
        using (a.Model)
        using (b.Model)
            foreach (var (name, t) in a.Model.state_dict())
                Assert.True(b.Model.state_dict()[name].equal(t).all().item<bool>(), name);
    }

    [Fact]
    public void Checkpoint_HasHfNames_AndItsEncoderLoadsAsAnHfBertDirectory()
    {
        var data = Data();
        using var model = Tiny(data);
        model.eval();
        var dir = Path.Combine(root, "ckpt");
        MlmCheckpoint.Save(dir, model, data.Tokenizer);
        var names = TorchSharp.PyBridge.Safetensors.LoadStateDict(Path.Combine(dir, "model.safetensors")).Keys.ToHashSet();
        foreach (var expected in new[]
                 {
                     "bert.embeddings.word_embeddings.weight", "bert.encoder.layer.0.attention.self.query.weight",
                     "bert.encoder.layer.1.attention.output.LayerNorm.bias", "bert.encoder.layer.0.intermediate.dense.weight",
                     "bert.encoder.layer.0.output.dense.weight", "cls.predictions.transform.dense.weight",
                     "cls.predictions.transform.LayerNorm.weight", "cls.predictions.bias",
                 })
            Assert.Contains(expected, names);
        Assert.True(File.Exists(Path.Combine(dir, "tokenizer_config.json")));

        using var encoder = BertWeights.LoadHfDirectory(dir);
        var ids = tensor(new long[,] { { 2, 7, 8, 9, 3 } });
        using (no_grad())
            Assert.True(encoder.Forward(ids).LastHiddenState.equal(model.Bert.Forward(ids).LastHiddenState).all().item<bool>());
        var loaded = MlmCheckpoint.Load(dir);
        using (loaded.Model)
        using (no_grad())
            Assert.True(loaded.Model.Forward(ids).equal(model.Forward(ids)).all().item<bool>());
    }

    [Fact]
    public void AnEncoderWithoutMlmHead_IsRefusedByName()
    {
        var data = Data();
        using var model = Tiny(data);
        var dir = Path.Combine(root, "encoder-only");
        BertWeights.SaveHfDirectory(model.Bert, dir, data.Tokenizer.Vocabulary.Tokens);
        var e = Assert.Throws<InvalidDataException>(() => MlmCheckpoint.Load(dir));
        Assert.Contains("no masked-language-model head", e.Message);
        Assert.Contains("model.safetensors", e.Message);
    }

    [Fact]
    public void FillMask_GivesTopKPerMask_AndTheTextFilled_AfterTheModelLearnedTheGrammar()
    {
        var data = Data(copies: 8);
        using var model = Tiny(data);
        new MlmTrainer(model, data, Steps(150) with { EvalEverySteps = 0 }, Path.Combine(root, "fill")).Run();
        var result = FillMask.Predict(model, data.Tokenizer, "le chat [MASK] le fromage", topK: 3);
        var mask = Assert.Single(result.Masks);
        Assert.Equal(3, mask.Candidates.Count);
        Assert.True(mask.Candidates.Zip(mask.Candidates.Skip(1)).All(p => p.First.Probability >= p.Second.Probability));
        Assert.DoesNotContain("[MASK]", result.Filled);
        Assert.Contains(mask.Candidates[0].Word, Verbs);                                        // a verb goes there
        var two = FillMask.Predict(model, data.Tokenizer, "[MASK] chat mange [MASK] fromage", topK: 2);
        Assert.Equal(2, two.Masks.Count);
        Assert.Contains("no [MASK]", Assert.Throws<ArgumentException>(() => FillMask.Predict(model, data.Tokenizer, "le chat mange")).Message);
    }
}
