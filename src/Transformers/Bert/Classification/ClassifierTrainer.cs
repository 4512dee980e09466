using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using Transformers.Bert.Pretraining;
using Transformers.Modules;
using Transformers.Tokenizer;
using Transformers.Training;
using static TorchSharp.torch;

namespace Transformers.Bert.Classification;

/// <summary>Where a fine-tuning run stands: enough to continue exactly after a restart (<c>trainer_state.json</c>).</summary>
public sealed record ClassifierTrainerState : TrainingPosition
{
    public List<ClassifierEvaluation> History { get; set; } = [];
}

/// <summary>One dev evaluation: accuracy after <see cref="Step"/> steps, and the process's peak resident memory so far.</summary>
public sealed record ClassifierEvaluation(long Step, int Epoch, double ElapsedSeconds, double DevAccuracy, long PeakRssBytes = 0);

/// <summary>
/// Fine-tunes a <see cref="BertForSequenceClassification"/> under a budget: length-bucketed batches in a seeded order per
/// epoch, AdamW with warmup and linear decay over the budget, clipping, dropout seeded per batch. Dev accuracy after
/// each epoch, every <see cref="ClassifierOptions.EvalEverySeconds"/> and when the run ends (off the training clock);
/// each evaluation saves <c>last/</c> (with the optimizer and trainer state) and, when the accuracy is the best so far,
/// <c>best/</c>. A run stopped at any instant resumes from <c>last/</c> exactly as if it had not stopped.
/// </summary>
public sealed class ClassifierTrainer
{
    private readonly BertForSequenceClassification model;
    private readonly WordPieceTokenizer tokenizer;
    private readonly ClassificationTask task;
    private readonly ClassifierOptions options;
    private readonly string runDir;
    private readonly Device device;
    private readonly OptimizerHelper optimizer;
    private readonly LearningRateSchedule schedule;
    private readonly List<ClassifierTraining.Example> train;
    private readonly Stopwatch clock = new();
    private double startElapsed;

    public ClassifierTrainerState State { get; private set; } = new();
    /// <summary>Progress lines (one per evaluation).</summary>
    public Action<string>? Log { get; init; }
    /// <summary>Called after each optimizer step with the step's number and loss.</summary>
    public Action<long, double>? OnStep { get; init; }
    /// <summary>Set (e.g. from Ctrl-C) to stop after the current step with a checkpoint.</summary>
    public CancellationToken Cancellation { get; init; }

    public string LastDir => Path.Combine(runDir, "last");
    public string BestDir => Path.Combine(runDir, "best");
    private double Elapsed => startElapsed + clock.Elapsed.TotalSeconds;

    public ClassifierTrainer(BertForSequenceClassification model, WordPieceTokenizer tokenizer, ClassificationTask task, ClassifierOptions options, string runDir, Device? device = null)
    {
        if (!options.Budget.IsBounded) throw new ArgumentException("fine-tuning needs a budget: minutes, steps or epochs");
        if (model.Classes != task.Labels.Count) throw new ArgumentException($"the model has {model.Classes} classes, the task {task.Labels.Count}");
        this.model = model;
        this.tokenizer = tokenizer;
        this.task = task;
        this.options = options;
        this.runDir = runDir;
        this.device = device ?? CPU;
        schedule = new LearningRateSchedule { PeakLearningRate = options.LearningRate, WarmupFraction = options.WarmupFraction, Decay = LearningRateDecay.Linear }.Validate();
        train = ClassifierTraining.Encode(tokenizer, task.Train, task.Labels, options.MaxLength);
        model.to(this.device);
        optimizer = optim.AdamW(model.parameters(), options.LearningRate, 0.9, 0.999, 1e-8, 0.01);
    }

    /// <summary>Continues from <c>last/</c>: its weights, optimizer state and trainer state; errors name the file.</summary>
    public void Resume()
    {
        var (weightsPath, weights) = ClassifierTraining.ReadCheckpoint(LastDir, out var labels, out var state);
        try
        {
            if (!labels.SequenceEqual(task.Labels))
                throw new InvalidDataException($"{LastDir} was fine-tuned on other classes ({labels.Count}: {string.Join(", ", labels.Take(5))}...) than this task's ({task.Labels.Count})");
            StateDicts.LoadStrict(model, weights, weightsPath, BertForSequenceClassification.ToHfName, describe: $"BERT classifier in {LastDir}");
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
        State = state ?? throw new InvalidDataException($"{LastDir} has no trainer state: it cannot be resumed");
        Checkpoint.LoadOptimizerState(optimizer, Path.Combine(LastDir, ClassifierTraining.OptimizerFile), LastDir);
    }

    /// <summary>Trains until the budget is spent (or cancellation); returns how it ended.</summary>
    public TrainingOutcome Run()
    {
        Directory.CreateDirectory(runDir);
        model.train();
        startElapsed = State.ElapsedSeconds;
        double lastEval = State.History.Count > 0 ? State.History[^1].ElapsedSeconds : 0;
        clock.Restart();
        try
        {
            while (true)
            {
                if (Spent() is { } limit) return Finish(limit);
                var batches = ClassifierTraining.Batches(train, options.MaxTokensPerBatch, new Random((int)(DropoutNoise.BatchSeed(options.Seed, State.Epoch, -1) & 0x7FFFFFFF)));
                for (int b = State.BatchInEpoch; b < batches.Count; b++)
                {
                    if (Spent() is { } end) return Finish(end);
                    if (Cancellation.IsCancellationRequested) return Finish(TrainingOutcome.Interrupted);
                    TrainStep(batches, b);
                    if (options.EvalEverySeconds > 0 && Elapsed - lastEval >= options.EvalEverySeconds)
                    {
                        OffTheClock(Evaluate);
                        lastEval = State.ElapsedSeconds;
                    }
                }
                State.Epoch++;
                State.BatchInEpoch = 0;
                State.ElapsedSeconds = Elapsed;
                OffTheClock(Evaluate);
                lastEval = State.ElapsedSeconds;
            }
        }
        finally
        {
            clock.Stop();
            model.eval();
        }
    }

    /// <summary>The best checkpoint's dev accuracy and its accuracy on the test split.</summary>
    public ClassifierResult Result(TrainingOutcome outcome)
    {
        var best = ClassifierTraining.Load(BestDir);
        using (best.Model)
        {
            best.Model.to(device);
            double test = ClassifierTraining.Accuracy(best.Model, best.Tokenizer, task.Test, best.Labels, options.MaxLength);
            double dev = State.History.Count > 0 ? State.History.Max(h => h.DevAccuracy) : 0;
            return new ClassifierResult(dev, test, State.Step, State.Epoch, State.ElapsedSeconds, outcome);
        }
    }

    private TrainingOutcome? Spent() => options.Budget.Reached(State.Step, Elapsed, State.Epoch);

    /// <summary>Evaluates (and checkpoints) unless the last evaluation was at this very step.</summary>
    private TrainingOutcome Finish(TrainingOutcome outcome)
    {
        State.ElapsedSeconds = Elapsed;
        if (State.History.Count == 0 || State.History[^1].Step != State.Step) OffTheClock(Evaluate);
        return outcome;
    }

    private void TrainStep(List<List<ClassifierTraining.Example>> batches, int index)
    {
        double progress = options.Budget.Progress(State.Step, Elapsed, State.Epoch + (double)index / batches.Count) ?? 0;
        double lr = schedule.At(State.Step + 1, progress);
        double loss;
        using (var scope = NewDisposeScope())
        using (DropoutNoise.Use(DropoutNoise.BatchSeed(options.Seed, State.Epoch, index), device))
        {
            var (ids, mask, labels) = ClassifierTraining.Tensors(batches[index], tokenizer.PaddingId, device);
            optimizer.zero_grad();
            var l = nn.functional.cross_entropy(model.Forward(ids, mask), labels);
            l.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
            optimizer.step();
            loss = l.item<float>();
        }
        if (!double.IsFinite(loss))
            throw new TrainingDivergedException($"the loss became {loss} at step {State.Step + 1} (learning rate {lr:G3}); fine-tuning stopped. Lower the learning rate (e.g. --lr {lr / 3:G2}).");
        State.Step++;
        State.BatchInEpoch = index + 1;
        State.ElapsedSeconds = Elapsed;
        OnStep?.Invoke(State.Step, loss);
        TorchRuntime.ReleaseFreedMemoryEvery(TrainerOptions.ConfiguredReleaseInterval, State.Step);
    }

    /// <summary>Dev accuracy (no dropout), then last/ and, if the accuracy is the best so far, best/.</summary>
    private void Evaluate()
    {
        double dev = ClassifierTraining.Accuracy(model, tokenizer, task.Dev, task.Labels, options.MaxLength);
        bool improved = State.History.All(h => dev > h.DevAccuracy);
        State.History.Add(new ClassifierEvaluation(State.Step, State.Epoch, State.ElapsedSeconds, dev, RunLog.PeakResidentBytes()));
        ClassifierTraining.Save(LastDir, model, tokenizer, task.Labels, optimizer, State);
        if (improved) ClassifierTraining.Save(BestDir, model, tokenizer, task.Labels);
        Log?.Invoke(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"epoch {State.Epoch}, step {State.Step}, {State.ElapsedSeconds / 60:F1} min: dev accuracy {dev:P2}{(improved ? " *" : "")}"));
    }

    private void OffTheClock(Action work)
    {
        clock.Stop();
        try { work(); }
        finally { clock.Start(); }
    }
}
