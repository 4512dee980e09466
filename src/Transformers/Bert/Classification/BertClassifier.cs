using System.Diagnostics;
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
    public double LearningRate { get; init; } = 1e-4;
    public double WarmupFraction { get; init; } = 0.1;
    public int MaxTokensPerBatch { get; init; } = 4096;
    /// <summary>Longest text with [CLS] and [SEP]; longer ones are cut.</summary>
    public int MaxLength { get; init; } = 64;
    public long MaxSteps { get; init; }
    public double MaxSeconds { get; init; }
    public int MaxEpochs { get; init; } = 3;
    public int Seed { get; init; } = 1;
}

/// <summary>What fine-tuning gave: the best dev accuracy, the test accuracy of that checkpoint, and the work done.</summary>
public sealed record ClassifierResult(double DevAccuracy, double TestAccuracy, long Steps, int Epochs, double Seconds);

/// <summary>
/// Fine-tuning and scoring a <see cref="BertForSequenceClassification"/>: length-bucketed batches in a seeded order per
/// epoch, AdamW with warmup and linear decay over the budget, dropout seeded per batch; dev accuracy after each epoch
/// (and when the budget ends), the best checkpoint saved in HF's layout (config.json with id2label, model.safetensors,
/// vocab.txt, tokenizer_config.json).
/// </summary>
public static class ClassifierTraining
{
    private sealed record Example(int[] Ids, long Label);

    private static List<Example> Encode(WordPieceTokenizer tokenizer, IReadOnlyList<LabelledText> texts, IReadOnlyList<string> labels, int maxLength)
    {
        var index = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => (long)x.i, StringComparer.Ordinal);
        var encode = new BertEncodeOptions { MaxLength = maxLength };                        // [CLS] text [SEP], cut to fit
        return texts.Select(t => new Example(tokenizer.Encode(t.Text, null, encode).Ids, index.TryGetValue(t.Label, out var label) ? label : -1)).ToList();
    }

    private static List<List<Example>> Batches(List<Example> examples, int maxTokens, Random? shuffle)
    {
        var batches = LengthBuckets.Pack(examples, LengthBuckets.ShuffledByLength(examples, e => e.Ids.Length, shuffle), e => e.Ids.Length, maxTokens).ToArray();
        shuffle?.Shuffle(batches);
        return batches.ToList();
    }

    private static (Tensor Ids, Tensor Mask, Tensor Labels) Tensors(List<Example> batch, long padId, Device device)
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

    /// <summary>Fine-tunes <paramref name="model"/> on the task's train texts; the best dev checkpoint goes to <paramref name="outDir"/> and is scored on test.</summary>
    public static ClassifierResult Train(BertForSequenceClassification model, WordPieceTokenizer tokenizer, ClassificationTask task, ClassifierOptions options,
                                         string outDir, Device device, Action<string>? log = null)
    {
        var budget = new TrainingBudget(options.MaxSteps, options.MaxSeconds, options.MaxEpochs);
        if (!budget.IsBounded) throw new ArgumentException("fine-tuning needs a budget: minutes, steps or epochs");
        var schedule = new LearningRateSchedule { PeakLearningRate = options.LearningRate, WarmupFraction = options.WarmupFraction, Decay = LearningRateDecay.Linear }.Validate();
        var train = Encode(tokenizer, task.Train, task.Labels, options.MaxLength);
        model.to(device);
        var optimizer = optim.AdamW(model.parameters(), options.LearningRate, 0.9, 0.999, 1e-8, 0.01);
        var clock = Stopwatch.StartNew();
        long step = 0;
        int epoch = 0;
        double bestDev = double.NegativeInfinity;
        bool spent = false;
        while (!spent)
        {
            var batches = Batches(train, options.MaxTokensPerBatch, new Random((int)(DropoutNoise.BatchSeed(options.Seed, epoch, -1) & 0x7FFFFFFF)));
            model.train();
            for (int b = 0; b < batches.Count && !spent; b++)
            {
                double progress = budget.Progress(step, clock.Elapsed.TotalSeconds, epoch + (double)b / batches.Count) ?? 0;
                using (var scope = NewDisposeScope())
                using (DropoutNoise.Use(DropoutNoise.BatchSeed(options.Seed, epoch, b), device))
                {
                    var (ids, mask, labels) = Tensors(batches[b], tokenizer.PaddingId, device);
                    optimizer.zero_grad();
                    var loss = nn.functional.cross_entropy(model.Forward(ids, mask), labels);
                    loss.backward();
                    nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                    foreach (var g in optimizer.ParamGroups) g.LearningRate = schedule.At(step + 1, progress);
                    optimizer.step();
                }
                step++;
                spent = (options.MaxSteps > 0 && step >= options.MaxSteps) || (options.MaxSeconds > 0 && clock.Elapsed.TotalSeconds >= options.MaxSeconds);
            }
            epoch++;
            spent |= options.MaxEpochs > 0 && epoch >= options.MaxEpochs;
            clock.Stop();
            double dev = Accuracy(model, tokenizer, task.Dev, task.Labels, options.MaxLength);
            log?.Invoke($"epoch {epoch}, step {step}, {clock.Elapsed.TotalMinutes:F1} min: dev accuracy {dev:P2}{(dev > bestDev ? " *" : "")}");
            if (dev > bestDev)
            {
                bestDev = dev;
                Save(outDir, model, tokenizer, task.Labels);
            }
            clock.Start();
        }
        clock.Stop();
        var best = Load(outDir);
        using (best.Model)
        {
            best.Model.to(device);
            double test = Accuracy(best.Model, best.Tokenizer, task.Test, best.Labels, options.MaxLength);
            return new ClassifierResult(bestDev, test, step, epoch, clock.Elapsed.TotalSeconds);
        }
    }

    /// <summary>HF's layout: config.json (with id2label), model.safetensors, vocab.txt, tokenizer_config.json, manifest.json.</summary>
    public static void Save(string dir, BertForSequenceClassification model, WordPieceTokenizer tokenizer, IReadOnlyList<string> labels)
    {
        AtomicDirectory.Write(dir, tmp =>
        {
            var config = model.Config with { IdToLabel = labels.Select((l, i) => (l, i)).ToDictionary(x => x.i.ToString(System.Globalization.CultureInfo.InvariantCulture), x => x.l) };
            MlmCheckpoint.WriteHfModel(tmp, model, config, BertForSequenceClassification.ToHfName, tokenizer);
            CheckpointManifest.Write(tmp);
        });
    }

    public sealed record Loaded(BertForSequenceClassification Model, WordPieceTokenizer Tokenizer, IReadOnlyList<string> Labels);

    /// <summary>Loads a classifier directory; errors name the file (no labels in config.json: not a classifier).</summary>
    public static Loaded Load(string dir)
    {
        var configPath = Path.Combine(dir, "config.json");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{dir} is not a classifier (no config.json)", configPath);
        CheckpointManifest.Verify(dir);
        var config = BertConfig.Load(configPath);
        if (config.IdToLabel is not { Count: >= 2 } id2label)
            throw new InvalidDataException($"{configPath} has no id2label: it is not a sequence classifier (fine-tune one with `transformers finetune`)");
        var labels = Enumerable.Range(0, id2label.Count).Select(i => id2label.TryGetValue(i.ToString(System.Globalization.CultureInfo.InvariantCulture), out var l) ? l
            : throw new InvalidDataException($"{configPath}: id2label has no class {i}")).ToList();
        var (weightsPath, weights) = MlmCheckpoint.ReadWeights(dir);
        try
        {
            var model = new BertForSequenceClassification(config, labels.Count);
            StateDicts.LoadStrict(model, weights, weightsPath, BertForSequenceClassification.ToHfName, describe: $"BERT classifier config in {configPath}");
            model.eval();
            return new Loaded(model, WordPieceTokenizer.FromDirectory(dir), labels);
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }
}
