using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using Transformers.Modules;
using Transformers.Training;
using static TorchSharp.torch;

namespace Transformers.Bert.Pretraining;

/// <summary>How a masked-language model is pretrained.</summary>
public sealed record MlmTrainerOptions
{
    /// <summary>AdamW's peak learning rate, warmup and decay over the budget (<see cref="LearningRateSchedule"/>).</summary>
    public LearningRateSchedule Schedule { get; init; } = new() { PeakLearningRate = 5e-4, WarmupFraction = 0.05, Decay = LearningRateDecay.Linear };
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.98;
    public double Epsilon { get; init; } = 1e-6;
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>Clip the global gradient L2 norm to this (0: no clipping).</summary>
    public double ClipNorm { get; init; } = 1.0;
    /// <summary>Stop after this many optimizer steps, seconds of training or epochs (whichever first; 0 = no limit).</summary>
    public long MaxSteps { get; init; }
    public double MaxSeconds { get; init; }
    public int MaxEpochs { get; init; }
    /// <summary>Evaluate on the held-out sentences (and save last/) every N steps or seconds of training (0: off; both 0: at the end only).</summary>
    public int EvalEverySteps { get; init; }
    public double EvalEverySeconds { get; init; }
    /// <summary>Seeds the initialisation and the dropout noise of each batch.</summary>
    public int Seed { get; init; } = 1;

    public TrainingBudget Budget => new(MaxSteps, MaxSeconds, MaxEpochs);

    public MlmTrainerOptions Validate()
    {
        Schedule.Validate();
        if (!Budget.IsBounded) throw new ArgumentException("pretraining needs a budget: a number of minutes, steps or epochs");
        if (MaxSteps < 0 || MaxSeconds < 0 || MaxEpochs < 0 || double.IsNaN(MaxSeconds)) throw new ArgumentException($"budget limits must be >= 0 (steps {MaxSteps}, seconds {MaxSeconds}, epochs {MaxEpochs})");
        if (EvalEverySteps < 0 || EvalEverySeconds < 0) throw new ArgumentException("evaluation intervals must be >= 0");
        return this;
    }
}

/// <summary>One optimizer step of pretraining, as logged.</summary>
public sealed record MlmStep(long Step, int Epoch, double Loss, int Predictions, long Tokens, double LearningRate, double GradNorm, double TokensPerSecond, double ElapsedSeconds);

/// <summary>
/// Masked-language-model pretraining (Devlin et al. 2019 §3.1) under a budget: AdamW, warmup and decay over the
/// budget, clipping; dynamic masking (<see cref="MlmData"/>) and dropout noise seeded per batch, so a run killed at any
/// instant resumes from <c>last/</c> exactly as if it had not stopped. Evaluations (held-out masked loss and accuracy)
/// and checkpoints are off the training clock; <c>best/</c> follows the lowest held-out loss; <c>train.jsonl</c> logs
/// every step and evaluation.
/// </summary>
public sealed class MlmTrainer
{
    private readonly BertForMaskedLM model;
    private readonly MlmData data;
    private readonly MlmTrainerOptions options;
    private readonly string runDir;
    private readonly Device device;
    private readonly OptimizerHelper optimizer;
    private readonly Stopwatch clock = new();
    private double startElapsed;
    private StreamWriter? log;                        // train.jsonl while Run() runs

    public MlmTrainerState State { get; private set; } = new();
    public Action<MlmStep>? OnStep { get; init; }
    public Action<MlmEvaluation, bool>? OnEval { get; init; }
    /// <summary>Set (e.g. from Ctrl-C) to stop after the current step with a checkpoint.</summary>
    public CancellationToken Cancellation { get; init; }

    public string LastDir => Path.Combine(runDir, "last");
    public string BestDir => Path.Combine(runDir, "best");
    private double Elapsed => startElapsed + clock.Elapsed.TotalSeconds;

    public MlmTrainer(BertForMaskedLM model, MlmData data, MlmTrainerOptions options, string runDir, Device? device = null)
    {
        if (data.Tokenizer.Vocabulary.Count != model.Config.VocabSize)
            throw new ArgumentException($"the data's vocabulary has {data.Tokenizer.Vocabulary.Count} tokens, the model {model.Config.VocabSize}");
        this.model = model;
        this.data = data;
        this.options = options.Validate();
        this.runDir = runDir;
        this.device = device ?? CPU;
        var s = options.Schedule;
        optimizer = optim.AdamW(model.parameters(), s.PeakLearningRate, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
    }

    /// <summary>Continues from a checkpoint loaded with its trainer state (its weights must already be in the model).</summary>
    public void Resume(MlmCheckpoint.Loaded checkpoint)
    {
        var state = checkpoint.State ?? throw new InvalidDataException($"{checkpoint.Directory} has no trainer state: it cannot be resumed");
        Checkpoint.LoadOptimizerState(optimizer, checkpoint.OptimizerPath, checkpoint.Directory);
        State = state;
    }

    /// <summary>Trains until the budget is spent (or cancellation); returns how it ended.</summary>
    public TrainingOutcome Run()
    {
        Directory.CreateDirectory(runDir);
        model.to(device);
        model.train();
        startElapsed = State.ElapsedSeconds;
        double lastEval = State.History.Count > 0 ? State.History[^1].ElapsedSeconds : 0;
        long lastEvalStep = State.History.Count > 0 ? State.History[^1].Step : 0;
        var budget = options.Budget;
        using var log = RunLog.Open(Path.Combine(runDir, "train.jsonl"), fresh: State.Step == 0 && State.History.Count == 0, line => LoggedStep(line) <= State.Step);
        this.log = log;
        clock.Restart();
        try
        {
            while (true)
            {
                var batches = data.Epoch(State.Epoch);
                for (int b = State.BatchInEpoch; b < batches.Count; b++)
                {
                    if (Spent(budget) is { } limit) return Finish(limit);
                    if (Cancellation.IsCancellationRequested) return Finish(TrainingOutcome.Interrupted);
                    var step = TrainStep(batches[b], b, budget, batches.Count);
                    OnStep?.Invoke(step);
                    Log(step);
                    TorchRuntime.ReleaseFreedMemoryEvery(TrainerOptions.ConfiguredReleaseInterval, State.Step);
                    bool dueBySteps = options.EvalEverySteps > 0 && State.Step - lastEvalStep >= options.EvalEverySteps;
                    bool dueBySeconds = options.EvalEverySeconds > 0 && Elapsed - lastEval >= options.EvalEverySeconds;
                    if (dueBySteps || dueBySeconds)
                    {
                        OffTheClock(Evaluate);
                        (lastEval, lastEvalStep) = (State.ElapsedSeconds, State.Step);
                    }
                }
                State.Epoch++;
                State.BatchInEpoch = 0;
                if (Spent(budget) is { } end) return Finish(end);
            }
        }
        finally
        {
            clock.Stop();
            model.eval();
            this.log = null;
        }
    }

    /// <summary>The limit the run has reached, if any.</summary>
    private TrainingOutcome? Spent(TrainingBudget budget) => budget.Reached(State.Step, Elapsed, State.Epoch);

    private TrainingOutcome Finish(TrainingOutcome outcome)
    {
        State.ElapsedSeconds = Elapsed;
        OffTheClock(Evaluate);
        return outcome;
    }

    private MlmStep TrainStep(MlmSentences sentences, int index, TrainingBudget budget, int batchesInEpoch)
    {
        var started = Elapsed;
        double progressEpochs = State.Epoch + (double)index / batchesInEpoch;
        double lr = options.Schedule.At(State.Step + 1, budget.Progress(State.Step, Elapsed, progressEpochs));
        var masked = data.Masked(sentences, State.Epoch, index);
        double loss, gradNorm;
        using (var scope = NewDisposeScope())
        using (DropoutNoise.Use(DropoutNoise.BatchSeed(options.Seed, State.Epoch, index), device))
        {
            var (inputs, mask, labels) = masked.ToTensors(device);
            optimizer.zero_grad();
            var l = model.Loss(inputs, mask, labels);
            l.backward();
            gradNorm = options.ClipNorm > 0 ? nn.utils.clip_grad_norm_(model.parameters(), options.ClipNorm) : double.NaN;
            foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
            optimizer.step();
            loss = l.item<float>();
        }
        if (!double.IsFinite(loss))
            throw new TrainingDivergedException($"the loss became {loss} at step {State.Step + 1} (learning rate {lr:G3}); training stopped. Lower the learning rate (e.g. --lr {lr / 3:G2}) or lengthen the warmup.");
        long tokens = sentences.Tokens;
        State.Step++;
        State.BatchInEpoch = index + 1;
        State.Tokens += tokens;
        State.ElapsedSeconds = Elapsed;
        double seconds = Math.Max(State.ElapsedSeconds - started, 1e-9);
        return new MlmStep(State.Step, State.Epoch, loss, masked.Predicted, tokens, lr, gradNorm, tokens / seconds, State.ElapsedSeconds);
    }

    /// <summary>Held-out masked loss and accuracy (no dropout), then last/ and, if the loss is the lowest so far, best/.</summary>
    private void Evaluate()
    {
        var evaluation = Score(model, data.HeldOut, device, State);
        bool improved = evaluation is not null && State.History.All(h => evaluation.Loss < h.Loss);
        if (evaluation is not null) State.History.Add(evaluation);
        MlmCheckpoint.Save(LastDir, model, data.Tokenizer, optimizer, State);
        if (improved || (evaluation is null && !Directory.Exists(BestDir))) MlmCheckpoint.Save(BestDir, model, data.Tokenizer, optimizer, State);
        if (evaluation is not null)
        {
            OnEval?.Invoke(evaluation, improved);
            Log(evaluation);
        }
    }

    /// <summary>Masked-token loss (mean over predicted positions) and top-1 accuracy of <paramref name="model"/> on <paramref name="batches"/>; null if there are none.</summary>
    public static MlmEvaluation? Score(BertForMaskedLM model, IReadOnlyList<MaskedBatch> batches, Device device, MlmTrainerState state)
    {
        if (batches.Count == 0) return null;
        bool wasTraining = model.training;
        model.eval();
        double lossSum = 0;
        long correct = 0, count = 0;
        using (no_grad())
            foreach (var batch in batches)
            {
                using var scope = NewDisposeScope();
                var (inputs, mask, labels) = batch.ToTensors(device);
                var (logits, targets) = model.PredictedLogits(inputs, mask, labels);                 // [predictions, vocab], [predictions]
                var sum = nn.functional.cross_entropy(logits, targets, reduction: nn.Reduction.Sum);
                var hits = logits.argmax(-1).eq(targets).sum();
                var host = stack([sum.to(ScalarType.Float64), hits.to(ScalarType.Float64)]).cpu().data<double>().ToArray();
                lossSum += host[0];
                correct += (long)host[1];
                count += batch.Predicted;
            }
        if (wasTraining) model.train();
        return new MlmEvaluation(state.Step, state.ElapsedSeconds, state.Tokens, lossSum / Math.Max(count, 1), (double)correct / Math.Max(count, 1), (int)count,
                                 RunLog.PeakResidentBytes(), RunLog.ResidentBytes());
    }

    private void OffTheClock(Action work)
    {
        clock.Stop();
        try { work(); }
        finally { clock.Start(); }
    }

    private void Log(object record) =>
        log?.WriteLine(JsonSerializer.Serialize(new { kind = record is MlmEvaluation ? "eval" : "step", record }));

    /// <summary>The step a line of train.jsonl records; long.MaxValue for a line a kill cut short (so a resume drops it).</summary>
    private static long LoggedStep(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.GetProperty("record").GetProperty("Step").GetInt64();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return long.MaxValue;
        }
    }
}
