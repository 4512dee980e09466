using System.Globalization;
using System.Text;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using Transformers.Bert.Pretraining;
using Transformers.Data;
using Transformers.Modules;
using Transformers.Tokenizer;
using Transformers.Tokenizer.Processing;
using Transformers.Training;
using static TorchSharp.torch;

namespace Transformers.Bert.Classification;

/// <summary>
/// BERT with a sequence-classification head (Devlin et al. 2019 §4.1; HF's BertForSequenceClassification): the pooled
/// [CLS] state, dropout, one linear layer to the classes. State-dict names: bert.* (HF's, through
/// <see cref="BertWeights"/>) and classifier.weight / classifier.bias, as HF's.
/// </summary>
public sealed class BertForSequenceClassification : nn.Module
{
    private readonly BertModel bert;
    private readonly SeededDropout dropout;
    private readonly Linear classifier;

    public BertConfig Config => bert.Config;
    public BertModel Bert => bert;
    public int Classes { get; }

    public BertForSequenceClassification(BertConfig config, int classes) : base(nameof(BertForSequenceClassification))
    {
        if (classes < 2) throw new ArgumentException($"a classifier needs at least 2 classes, got {classes}");
        Classes = classes;
        bert = new BertModel(config);
        dropout = new SeededDropout(config.HiddenDropoutProb);
        classifier = nn.Linear(config.HiddenSize, classes);
        RegisterComponents();
        BertInit.Apply(classifier, config.InitializerRange);
    }

    /// <summary>inputIds, attentionMask: [batch, seq] -> logits [batch, classes]</summary>
    public Tensor Forward(Tensor inputIds, Tensor? attentionMask = null)
    {
        using var scope = NewDisposeScope();
        var pooled = bert.Forward(inputIds, attentionMask).PooledOutput;                         // [batch, hidden]
        return classifier.forward(dropout.forward(pooled)).MoveToOuterDisposeScope();
    }

    /// <summary>Our parameter name -> HF's.</summary>
    public static string ToHfName(string ours) => ours.StartsWith("bert.", StringComparison.Ordinal) ? "bert." + BertWeights.ToHfName(ours[5..]) : ours;

    /// <summary>The encoder's weights from a pretrained checkpoint (the head starts fresh).</summary>
    public void LoadEncoder(BertModel pretrained)
    {
        using var _ = no_grad();
        var ours = bert.state_dict();
        foreach (var (name, t) in pretrained.state_dict()) ours[name].copy_(t);
    }
}

/// <summary>How a classifier is fine-tuned.</summary>
public sealed record ClassifierOptions
{
    /// <summary>
    /// 3e-4: on the bundled package task, from the `small` pretrained model, 3 epochs, it beat 1e-4 by 6.7 and 7.6 points
    /// of test accuracy with two seeds (62.69 / 63.50 % against 55.96 / 55.91 %; naive Bayes 58.44 %;
    /// experiments/results/bert-pretraining/report.md). BERT's paper searched 2e-5..5e-5 for its far larger, far longer pretrained models.
    /// </summary>
    public const double DefaultLearningRate = 3e-4;

    public double LearningRate { get; init; } = DefaultLearningRate;
    public double WarmupFraction { get; init; } = 0.1;
    public int MaxTokensPerBatch { get; init; } = 4096;
    /// <summary>Longest text with [CLS] and [SEP]; longer ones are cut.</summary>
    public int MaxLength { get; init; } = 64;
    /// <summary>Stop after this many optimizer steps, seconds of training or epochs (whichever first; 0 = no limit).</summary>
    public long MaxSteps { get; init; }
    public double MaxSeconds { get; init; }
    public int MaxEpochs { get; init; } = 3;
    /// <summary>Also evaluate (and checkpoint) every this many seconds of training, besides each epoch's end (0: epochs only).</summary>
    public double EvalEverySeconds { get; init; }
    /// <summary>Seeds the batch order of each epoch and the dropout noise of each batch.</summary>
    public int Seed { get; init; } = 1;

    public TrainingBudget Budget => new(MaxSteps, MaxSeconds, MaxEpochs);
}

/// <summary>What fine-tuning gave: the best dev accuracy, the test accuracy of that checkpoint, the work done and how the run ended.</summary>
public sealed record ClassifierResult(double DevAccuracy, double TestAccuracy, long Steps, int Epochs, double Seconds, TrainingOutcome Outcome = TrainingOutcome.Completed);

/// <summary>
/// A classifier's data, scoring and directories. A classifier directory is HF's layout (config.json with id2label,
/// model.safetensors, vocab.txt, tokenizer_config.json) plus, in a run's <c>last/</c>, optimizer.bin and
/// trainer_state.json; a fine-tuning run directory holds <c>best/</c> and <c>last/</c> (<see cref="ClassifierTrainer"/>).
/// </summary>
public static class ClassifierTraining
{
    internal const string OptimizerFile = "optimizer.bin";

    internal sealed record Example(int[] Ids, long Label);

    internal static List<Example> Encode(WordPieceTokenizer tokenizer, IReadOnlyList<LabelledText> texts, IReadOnlyList<string> labels, int maxLength)
    {
        var index = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => (long)x.i, StringComparer.Ordinal);
        var encode = new BertEncodeOptions { MaxLength = maxLength };                        // [CLS] text [SEP], cut to fit
        return texts.Select(t => new Example(tokenizer.Encode(t.Text, null, encode).Ids, index.TryGetValue(t.Label, out var label) ? label : -1)).ToList();
    }

    internal static List<List<Example>> Batches(List<Example> examples, int maxTokens, Random? shuffle)
    {
        var batches = LengthBuckets.Pack(examples, LengthBuckets.ShuffledByLength(examples, e => e.Ids.Length, shuffle), e => e.Ids.Length, maxTokens).ToArray();
        shuffle?.Shuffle(batches);
        return batches.ToList();
    }

    internal static (Tensor Ids, Tensor Mask, Tensor Labels) Tensors(List<Example> batch, long padId, Device device)
    {
        int rows = batch.Count, length = batch.Max(e => e.Ids.Length);
        var ids = new long[rows * length];
        var mask = new long[rows * length];
        Array.Fill(ids, padId);
        for (int r = 0; r < rows; r++)
            for (int t = 0; t < batch[r].Ids.Length; t++)
            {
                ids[r * length + t] = batch[r].Ids[t];
                mask[r * length + t] = 1;
            }
        return (tensor(ids, device: device).view(rows, length), tensor(mask, device: device).view(rows, length),
                tensor(batch.Select(e => e.Label).ToArray(), device: device));
    }

    /// <summary>The predicted class of each text (indexes into the model's labels).</summary>
    public static int[] Predict(BertForSequenceClassification model, WordPieceTokenizer tokenizer, IReadOnlyList<string> texts, int maxLength = 64)
    {
        var examples = Encode(tokenizer, texts.Select(t => new LabelledText(t, "")).ToList(), [], maxLength);
        var device = model.Bert.WordEmbeddings.device;
        bool training = model.training;
        model.eval();
        var predictions = new int[texts.Count];
        var position = new Dictionary<Example, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < examples.Count; i++) position[examples[i]] = i;
        using (no_grad())
            foreach (var batch in Batches(examples, 8192, shuffle: null))
            {
                using var scope = NewDisposeScope();
                var (ids, mask, _) = Tensors(batch, tokenizer.PaddingId, device);
                var best = model.Forward(ids, mask).argmax(-1).cpu().data<long>().ToArray();
                for (int j = 0; j < batch.Count; j++) predictions[position[batch[j]]] = (int)best[j];
            }
        if (training) model.train();
        return predictions;
    }

    public static double Accuracy(BertForSequenceClassification model, WordPieceTokenizer tokenizer, IReadOnlyList<LabelledText> texts, IReadOnlyList<string> labels, int maxLength = 64)
    {
        if (texts.Count == 0) return 0;
        var predicted = Predict(model, tokenizer, texts.Select(t => t.Text).ToList(), maxLength);
        return (double)texts.Where((t, i) => labels[predicted[i]] == t.Label).Count() / texts.Count;
    }

    /// <summary>
    /// Fine-tunes <paramref name="model"/> in run directory <paramref name="runDir"/> (taking its lock): resumes from its
    /// <c>last/</c> if it has one, else starts fresh; returns the best dev checkpoint's scores (<c>best/</c>). The
    /// <paramref name="settings"/> a run started with (the command's options) must match on resume.
    /// </summary>
    public static ClassifierResult Train(BertForSequenceClassification model, WordPieceTokenizer tokenizer, ClassificationTask task, ClassifierOptions options,
                                         string runDir, Device device, Action<string>? log = null, CancellationToken cancellation = default, RunSettings? settings = null)
    {
        using var run = RunDirectory.Open(runDir);
        foreach (var repair in run.Repairs) log?.Invoke($"note: {repair}");
        if (settings is not null)
            foreach (var change in run.CheckAndSaveSettings(settings)) log?.Invoke($"note: changed on resume: {change}");
        var trainer = new ClassifierTrainer(model, tokenizer, task, options, runDir, device) { Log = log, Cancellation = cancellation };
        if (run.CanResume)
        {
            trainer.Resume();
            log?.Invoke($"resuming {trainer.LastDir} at step {trainer.State.Step}");
        }
        else run.CheckFreshStart();
        return trainer.Result(trainer.Run());
    }

    /// <summary>Saves a classifier in HF's layout; with <paramref name="optimizer"/> and <paramref name="state"/>, resumable.</summary>
    public static void Save(string dir, BertForSequenceClassification model, WordPieceTokenizer tokenizer, IReadOnlyList<string> labels,
                            OptimizerHelper? optimizer = null, ClassifierTrainerState? state = null)
    {
        AtomicDirectory.Write(dir, tmp =>
        {
            var config = model.Config with { IdToLabel = labels.Select((l, i) => (l, i)).ToDictionary(x => x.i.ToString(CultureInfo.InvariantCulture), x => x.l) };
            MlmCheckpoint.WriteHfModel(tmp, model, config, BertForSequenceClassification.ToHfName, tokenizer);
            optimizer?.save_state_dict(Path.Combine(tmp, OptimizerFile));
            state?.WriteTo(tmp);
            CheckpointManifest.Write(tmp);
        });
    }

    public sealed record Loaded(BertForSequenceClassification Model, WordPieceTokenizer Tokenizer, IReadOnlyList<string> Labels);

    /// <summary>A fine-tuning run directory resolves to its best/, else its last/; a classifier directory to itself.</summary>
    public static string Resolve(string dir) => Checkpoint.ResolveIn(dir, "config.json", "a classifier");

    /// <summary>Loads a classifier (or a fine-tuning run's best); errors name the file (no labels in config.json: not a classifier).</summary>
    public static Loaded Load(string dir)
    {
        var (weightsPath, weights) = ReadCheckpoint(dir = Resolve(dir), out var labels, out _);
        try
        {
            var config = BertConfig.Load(Path.Combine(dir, "config.json"));
            var model = new BertForSequenceClassification(config, labels.Count);
            StateDicts.LoadStrict(model, weights, weightsPath, BertForSequenceClassification.ToHfName, describe: $"BERT classifier config in {Path.Combine(dir, "config.json")}");
            model.eval();
            return new Loaded(model, WordPieceTokenizer.FromDirectory(dir), labels);
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    /// <summary>A classifier directory's verified weights, labels and (if saved) trainer state.</summary>
    internal static (string Path, Dictionary<string, Tensor> Weights) ReadCheckpoint(string dir, out IReadOnlyList<string> labels, out ClassifierTrainerState? state)
    {
        var configPath = Path.Combine(dir, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{dir} is not a classifier (no config.json)", configPath);
        CheckpointManifest.Verify(dir);
        var config = BertConfig.Load(configPath);
        if (config.IdToLabel is not { Count: >= 2 } id2label)
            throw new InvalidDataException($"{configPath} has no id2label: it is not a sequence classifier (fine-tune one with `transformers finetune`)");
        labels = Enumerable.Range(0, id2label.Count).Select(i => id2label.TryGetValue(i.ToString(CultureInfo.InvariantCulture), out var l) ? l
            : throw new InvalidDataException($"{configPath}: id2label has no class {i}")).ToList();
        state = TrainingPosition.ReadFrom<ClassifierTrainerState>(dir);
        return MlmCheckpoint.ReadWeights(dir);
    }
}
