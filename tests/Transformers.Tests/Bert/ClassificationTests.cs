using Transformers.Bert;
using Transformers.Bert.Classification;
using Transformers.Bert.Pretraining;
using Transformers.Data;
using Transformers.Tokenizer;
using Transformers.Tokenizer.Training;
using Transformers.Training;
using static TorchSharp.torch;

namespace Transformers.Tests.Bert;

/// <summary>The classification task, the naive-Bayes baseline (against figures computed by hand), and a BERT classifier that learns and round-trips.</summary>
[Collection(SerialCollection.Name)]
public sealed class ClassificationTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "cls-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void NaiveBayes_MatchesTheHandComputedPosteriors()
    {
        // Train: pos "good great", "good"; neg "bad awful". Vocabulary 4 words + the unseen one = 5; pos has 3 words, neg 2.
        // P(pos) = (2+1)/(3+2) = 3/5, P(neg) = 2/5; P(good|pos) = 3/8, P(awful|pos) = 1/8; P(good|neg) = 1/7, P(awful|neg) = 2/7.
        var nb = new BagOfWords([new("Good, great!", "pos"), new("bad AWFUL", "neg"), new("good", "pos")], ["neg", "pos"]);
        var s = nb.Scores("awful good");
        Assert.Equal((3.0 / 5 * 1 / 8 * 3 / 8) / (2.0 / 5 * 2 / 7 * 1 / 7), Math.Exp(s[1] - s[0]), 12);   // 2205/1280
        var unseen = nb.Scores("zebra");
        Assert.Equal((3.0 / 5 * 1 / 8) / (2.0 / 5 * 1 / 7), Math.Exp(unseen[1] - unseen[0]), 12);           // an unseen word: 1/(total + 5)
        Assert.Equal("neg", nb.Predict("awful awful good"));
        Assert.Equal(["good", "great", "l", "école", "42"], BagOfWords.Words("Good, GREAT! l'École 42"));
        Assert.Equal(2.0 / 3, nb.Accuracy([new("good", "pos"), new("bad", "neg"), new("great bad bad", "pos")]), 12);
    }

    [Fact]
    public void PackageTask_LabelsByPackage_AndDropsClassesTrainLacks()
    {
        SentencePair P(string en, string package) => new("fr", en, package, 1);
        var split = new CorpusSplit([P("a", "apt"), P("b", "apt"), P("c", "dpkg")], [P("d", "apt"), P("e", "tar")], [P("f", "dpkg"), P("g", "dpkg")]);
        var task = ClassificationTask.Packages(split, p => p.File);
        Assert.Equal(["apt", "dpkg"], task.Labels);
        Assert.Equal([new LabelledText("d", "apt")], task.Dev);
        Assert.Equal(0.0, task.MajorityAccuracy(task.Test));                                          // the majority class is apt
    }

    [Fact]
    public void BundledPackageTask_TakesEachPairsPackage_FromTheCorpusThirdColumn()
    {
        var corpus = BundledCorpus.Load();
        Assert.Equal("apt", BundledCorpus.PackageOf(corpus.Pairs.First(p => p.Line == 1)));     // "Candidate:\tCandidat :\tapt"
        Assert.Throws<ArgumentException>(() => BundledCorpus.PackageOf(new SentencePair("a", "b", "other.tsv", 1)));
        var task = ClassificationTask.Packages(BundledCorpus.LoadSplit());
        Assert.Equal(44, task.Labels.Count);                                                   // `zcat fr-en.tsv.gz | cut -f3 | sort -u | wc -l`
    }

    private static readonly string[] Animals = ["chat", "chien", "souris"];

    private static ClassificationTask Toy()
    {
        var verbs = new[] { "mange", "regarde", "suit", "cherche", "aime" };
        var objects = new[] { "le fromage", "la balle", "le jardin", "une pomme", "les fleurs", "la porte" };
        var texts = Animals.SelectMany(a => verbs.SelectMany(v => objects.Select(o => new LabelledText($"le {a} {v} {o}", a)))).ToList();
        return new ClassificationTask("animal", texts, texts, texts, Animals.Order(StringComparer.Ordinal).ToList());
    }

    [Fact]
    public void BertClassifier_LearnsAToyTask_AndSavesAnHfDirectoryThatClassifiesAlike()
    {
        var task = Toy();
        var tokenizer = WordPieceTokenizer.Create(new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = 100, Tokenizer = WordPieceOptions.Cased })
            .Train(task.Train.Select(t => t.Text)).Vocabulary, WordPieceOptions.Cased);
        manual_seed(5);
        var config = new MlmRunSpec { Preset = MlmPreset.Tiny }.Config(tokenizer.Vocabulary.Count, tokenizer.PaddingId);
        using var model = new BertForSequenceClassification(config, task.Labels.Count);
        var dir = Path.Combine(root, "classifier");
        var result = ClassifierTraining.Train(model, tokenizer, task, new ClassifierOptions { LearningRate = 1e-3, MaxEpochs = 40, MaxTokensPerBatch = 256 }, dir, CPU);
        Assert.True(result.TestAccuracy >= 0.9, $"accuracy {result.TestAccuracy:P1} after {result.Steps} steps");
        Assert.True(result.TestAccuracy > task.MajorityAccuracy(task.Test));

        var loaded = ClassifierTraining.Load(dir);
        using (loaded.Model)
        {
            Assert.Equal(task.Labels, loaded.Labels);
            Assert.Contains("\"id2label\"", File.ReadAllText(Path.Combine(dir, "best", "config.json")));
            var texts = task.Test.Select(t => t.Text).ToList();
            var again = ClassifierTraining.Predict(loaded.Model, loaded.Tokenizer, texts);
            Assert.Equal(result.TestAccuracy, (double)again.Where((p, i) => loaded.Labels[p] == task.Test[i].Label).Count() / texts.Count);
        }
        var names = TorchSharp.PyBridge.Safetensors.LoadStateDict(Path.Combine(dir, "best", "model.safetensors")).Keys.ToHashSet();
        Assert.Contains("classifier.weight", names);
        Assert.Contains("bert.encoder.layer.0.attention.self.query.weight", names);
    }

    private static (BertForSequenceClassification Model, WordPieceTokenizer Tokenizer) ToyModel(ClassificationTask task)
    {
        var tokenizer = WordPieceTokenizer.Create(new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = 100, Tokenizer = WordPieceOptions.Cased })
            .Train(task.Train.Select(t => t.Text)).Vocabulary, WordPieceOptions.Cased);
        manual_seed(5);
        return (new BertForSequenceClassification(new MlmRunSpec { Preset = MlmPreset.Tiny }.Config(tokenizer.Vocabulary.Count, tokenizer.PaddingId), task.Labels.Count), tokenizer);
    }

    [Fact]
    public void FineTuning_StoppedMidEpoch_ResumesExactly()
    {
        var task = Toy();
        var options = new ClassifierOptions { LearningRate = 1e-3, MaxEpochs = 3, MaxTokensPerBatch = 128 };
        var straight = new List<double>();
        var (a, tokenizer) = ToyModel(task);
        using (a)
            new ClassifierTrainer(a, tokenizer, task, options, Path.Combine(root, "a")) { OnStep = (_, loss) => straight.Add(loss) }.Run();

        var resumed = new List<double>();
        using var stop = new CancellationTokenSource();
        var (b, _) = ToyModel(task);
        using (b)
        {
            var first = new ClassifierTrainer(b, tokenizer, task, options, Path.Combine(root, "b"))
            {
                OnStep = (step, loss) => { resumed.Add(loss); if (step == 3) stop.Cancel(); }, Cancellation = stop.Token,
            };
            Assert.Equal(TrainingOutcome.Interrupted, first.Run());
            Assert.Equal((3L, 0, 3), (first.State.Step, first.State.Epoch, first.State.BatchInEpoch));    // stopped inside the first epoch
        }
        manual_seed(999);                                                                       // the resume must not depend on the process's RNG
        var (c, _) = ToyModel(task);                                                            // other initial weights: the checkpoint's must replace them
        using (c)
        {
            var second = new ClassifierTrainer(c, tokenizer, task, options, Path.Combine(root, "b")) { OnStep = (_, loss) => resumed.Add(loss) };
            second.Resume();
            Assert.Equal(TrainingOutcome.Completed, second.Run());
        }
        Assert.True(straight.Count > 10, $"{straight.Count} steps");                            // 90 texts of ~8 tokens in 128-token batches: ~8 a epoch
        Assert.Equal(straight, resumed);                                                        // exact, not approximate
        var x = ClassifierTraining.Load(Path.Combine(root, "a", "last"));
        var y = ClassifierTraining.Load(Path.Combine(root, "b", "last"));
        using (x.Model)
        using (y.Model)
            foreach (var (name, t) in x.Model.state_dict())
                Assert.True(y.Model.state_dict()[name].equal(t).all().item<bool>(), name);
    }

    [Fact]
    public void AModelWithoutLabels_IsNotAClassifier()
    {
        var task = Toy();
        var tokenizer = WordPieceTokenizer.Create(new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = 100, Tokenizer = WordPieceOptions.Cased })
            .Train(task.Train.Select(t => t.Text)).Vocabulary, WordPieceOptions.Cased);
        using var mlm = new BertForMaskedLM(new MlmRunSpec { Preset = MlmPreset.Tiny }.Config(tokenizer.Vocabulary.Count, tokenizer.PaddingId));
        var dir = Path.Combine(root, "mlm");
        MlmCheckpoint.Save(dir, mlm, tokenizer);
        Assert.Contains("has no id2label", Assert.Throws<InvalidDataException>(() => ClassifierTraining.Load(dir)).Message);
    }
}
