using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using Transformers.Data;
using Transformers.Modules;
using Transformers.Tokenizer;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Training;

/// <summary>Trainer options (never seen by a model).</summary>
public sealed record TrainerOptions
{
    /// <summary>Peak learning rate of AdamW (after warmup).</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Optimizer steps of linear warmup (0: warm up over <see cref="WarmupFraction"/> of the budget instead).</summary>
    public int WarmupSteps { get; init; }
    /// <summary>Warmup as a share of the budget (steps, seconds or epochs; see <see cref="LearningRateSchedule"/>), when <see cref="WarmupSteps"/> is 0.</summary>
    public double WarmupFraction { get; init; } = 0.05;
    /// <summary>How the learning rate falls after warmup; linear and cosine reach <see cref="FinalLearningRateFraction"/> · peak at the end of the budget.</summary>
    public LearningRateDecay Decay { get; init; } = LearningRateDecay.Linear;
    public double FinalLearningRateFraction { get; init; }
    /// <summary>AdamW β₁, β₂, ε and decoupled weight decay (Loshchilov &amp; Hutter 2019).</summary>
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.98;
    public double Epsilon { get; init; } = 1e-9;
    public double WeightDecay { get; init; } = 1e-4;
    /// <summary>Label smoothing ε.</summary>
    public double LabelSmoothing { get; init; } = 0.1;
    /// <summary>Clip the global gradient L2 norm to this (0: no clipping).</summary>
    public double ClipNorm { get; init; } = 1.0;
    /// <summary>Batches whose gradients each worker sums before one optimizer step.</summary>
    public int AccumulationSteps { get; init; } = 1;
    /// <summary>
    /// Data-parallel workers, each a replica of the model on its own thread (as DistributedDataParallel's processes):
    /// a step takes <see cref="AccumulationSteps"/> × Workers batches, worker w the w-th of every Workers, and the
    /// gradients are summed in worker order. Dropout noise is seeded per batch, so the result does not depend on which
    /// worker ran a batch: 2 workers give exactly what 1 worker with twice the accumulation gives. Give each worker its
    /// share of the intra-op threads (torch.set_num_threads is global).
    /// </summary>
    public int Workers { get; init; } = 1;
    /// <summary>Stop after this many epochs, optimizer steps, or seconds of training (whichever first; 0 = no limit).</summary>
    public int MaxEpochs { get; init; } = 100;
    public long MaxSteps { get; init; }
    public double MaxSeconds { get; init; }
    /// <summary>Evaluate on dev every N optimizer steps (0 and no <see cref="EvalEverySeconds"/>: at the end of every epoch).</summary>
    public int EvalEverySteps { get; init; }
    /// <summary>Also evaluate whenever this many seconds of training passed since the last evaluation (0: off).</summary>
    public double EvalEverySeconds { get; init; }
    /// <summary>Stop when dev BLEU has not improved for this many evaluations (0: never).</summary>
    public int Patience { get; init; } = 5;
    /// <summary>Keep this many evaluation checkpoints and average their weights at the end (0 or 1: no averaging).</summary>
    public int AverageLastK { get; init; }
    /// <summary>
    /// Give the memory that freed tensors left in glibc's heaps back to the kernel every this many steps
    /// (<see cref="TorchRuntime.ReleaseFreedMemory"/>; 0: only around evaluations, which always release). Measured on a
    /// 2-minute `small` Transformer run (experiments/results/memory-rss): every 50 steps lowers the peak from 2,782–3,056 MiB
    /// to 1,992–2,347 MiB, but the step after each release runs ~4× slower (its tensors fault their pages in again), a few
    /// per cent of the run; so it is off unless asked for: TRANSFORMERS_RELEASE_MEMORY_EVERY=N.
    /// </summary>
    public int ReleaseMemoryEverySteps { get; init; } = ConfiguredReleaseInterval;

    /// <summary>TRANSFORMERS_RELEASE_MEMORY_EVERY, else 0: the interval every trainer (translators, BERT, classifier) releases freed memory at.</summary>
    public static int ConfiguredReleaseInterval { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("TRANSFORMERS_RELEASE_MEMORY_EVERY"), System.Globalization.NumberStyles.None,
                     System.Globalization.CultureInfo.InvariantCulture, out int every) ? every : 0;

    /// <summary>Seed of the initialisation and of the dropout noise (drawn per batch from this seed, the epoch and the batch's index).</summary>
    public int Seed { get; init; } = 1;
    /// <summary>
    /// Save the weights once the run has trained on this many target tokens (into <c>tokens-N/</c>), so that runs of
    /// different speed can be compared at an equal amount of data as well as at equal time.
    /// </summary>
    public IReadOnlyList<long> SnapshotAtTokens { get; init; } = [];
    /// <summary>What a recurrent decoder reads in training: the reference (the default), or sometimes its own predictions (scheduled sampling).</summary>
    public TeacherForcing TeacherForcing { get; init; } = TeacherForcing.Always;

    /// <summary>The learning-rate schedule these options describe.</summary>
    public LearningRateSchedule Schedule => new()
    {
        PeakLearningRate = LearningRate, Decay = Decay, WarmupSteps = WarmupSteps, WarmupFraction = WarmupFraction, FinalFraction = FinalLearningRateFraction,
    };

    /// <summary>The limits the schedule is defined over.</summary>
    public TrainingBudget Budget => new(MaxSteps, MaxSeconds, MaxEpochs);

    public TrainerOptions Validate()
    {
        Schedule.Validate();
        if (Schedule.NeedsBudget && !Budget.IsBounded)
            throw new ArgumentException($"a {Decay.ToString().ToLowerInvariant()} decay or a fractional warmup is defined over the budget: set a number of minutes, steps or epochs, or use a constant or inverse-sqrt decay with warmup in steps");
        if (MaxSteps < 0 || MaxEpochs < 0 || MaxSeconds < 0 || double.IsNaN(MaxSeconds)) throw new ArgumentException($"budget limits must be >= 0 (steps {MaxSteps}, epochs {MaxEpochs}, seconds {MaxSeconds})");
        if (EvalEverySteps < 0 || EvalEverySeconds < 0 || Patience < 0 || AverageLastK < 0) throw new ArgumentException("evaluation interval, patience and averaging must be >= 0");
        if (AccumulationSteps < 1) throw new ArgumentException($"accumulation steps {AccumulationSteps} must be >= 1");
        if (Workers < 1) throw new ArgumentException($"workers {Workers} must be >= 1");
        if (ReleaseMemoryEverySteps < 0) throw new ArgumentException($"memory release interval {ReleaseMemoryEverySteps} must be >= 0 steps (TRANSFORMERS_RELEASE_MEMORY_EVERY)");
        if (LabelSmoothing is < 0 or >= 1) throw new ArgumentException($"label smoothing {LabelSmoothing} must be in [0, 1)");
        if (SnapshotAtTokens.Any(n => n <= 0)) throw new ArgumentException($"snapshot token counts ({string.Join(", ", SnapshotAtTokens)}) must be > 0");
        TeacherForcing.Validate();
        if (TeacherForcing.Samples && Workers > 1)
            throw new ArgumentException($"scheduled sampling draws the decoder's inputs from the global generator, so it trains with one worker only (workers {Workers})");
        return this;
    }
}

/// <summary>How a run ended.</summary>
public enum TrainingOutcome { Completed, EarlyStopped, Interrupted, StepLimit, TimeLimit, AlreadyFinished }

/// <summary>One optimizer step, as logged (a JSON line in train.jsonl).</summary>
public sealed record StepRecord(long Step, int Epoch, double Loss, double Nll, long Tokens, double LearningRate, double GradNorm, double TokensPerSecond, double ElapsedSeconds);

/// <summary>Raised when the loss becomes NaN or infinite: training stops and the last good checkpoint is left as it was.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>
/// Trains any <see cref="Seq2SeqModel"/>: label-smoothed cross-entropy over target tokens, AdamW with a warmup and decay
/// over the budget (<see cref="LearningRateSchedule"/>), gradient clipping and accumulation, data-parallel workers on
/// threads (<see cref="TrainerOptions.Workers"/>), dev loss/BLEU evaluations, early stopping on dev BLEU,
/// keep-best, optional averaging of the last K checkpoints. Checkpoints (<c>last/</c>, <c>best/</c>) hold everything a
/// bit-identical resume needs: weights, optimizer state, RNG state, and the position in the data order.
/// </summary>
public sealed class Trainer
{
    private readonly Seq2SeqModel model;
    private readonly ITrainingData data;
    private readonly IReadOnlyList<string> vocabulary;
    private readonly TrainerOptions options;
    private readonly string runDir;
    private readonly OptimizerHelper optimizer;
    private LearningRateSchedule schedule;
    private readonly List<Seq2SeqModel> replicas;                // [0] is the model; one replica per further data-parallel worker
    private readonly List<IReadOnlyList<Parameter>> replicaParameters;   // parameters of each replica, in the order of [0]'s, listed once
    private readonly TrainingBudget budget;
    private readonly Device device;
    private readonly GcFence gcFence = new();            // the fallback: no collection during a step's data-parallel phase
    private WorkerThreads? workerThreads;                // the data-parallel workers' threads, started at the first step with 2+ workers
    private readonly FinalizerGate? finalizerGate = FinalizerGate.Enabled ? new() : null;    // no finalizer during a step's data-parallel phase
    private readonly Stopwatch clock = new();          // training time only: stopped during evaluations and checkpoints
    private double startElapsed;
    private long? savedStep;                          // the step of last/ (null: this run has none yet)

    /// <summary>Computes dev BLEU for the model as it is (null: evaluations report loss only).</summary>
    public Func<Seq2SeqModel, double>? DevBleu { get; init; }
    /// <summary>Called after each optimizer step (progress display).</summary>
    public Action<StepRecord, TrainerState>? OnStep { get; init; }
    /// <summary>Called after each evaluation.</summary>
    public Action<EvalRecord, bool>? OnEval { get; init; }
    /// <summary>Called with a one-line notice when the trainer changes a setting it was given (e.g. a warmup longer than the budget).</summary>
    public Action<string>? OnNotice { get; init; }
    /// <summary>Files copied into every checkpoint (the run's spacing model, so that a checkpoint copied elsewhere works on its own).</summary>
    public IReadOnlyList<string> CheckpointFiles { get; init; } = [];
    /// <summary>The options of the tokenizer over the vocabulary, saved in every checkpoint (null: none saved).</summary>
    public WordPieceOptions? TokenizerOptions { get; init; }
    /// <summary>Set (e.g. from Ctrl-C) to stop after the current step with a checkpoint.</summary>
    public CancellationToken Cancellation { get; init; }

    public TrainerState State { get; private set; } = new();
    private double LastEvalSeconds => State.History.Count == 0 ? 0 : State.History[^1].ElapsedSeconds;

    public Trainer(Seq2SeqModel model, ITrainingData data, IReadOnlyList<string> vocabulary, TrainerOptions options, string runDir, Device? device = null)
    {
        this.model = model;
        this.data = data;
        this.vocabulary = vocabulary;
        this.options = options.Validate();
        if (options.TeacherForcing.Samples && !model.SupportsScheduledSampling)
            throw new ArgumentException($"{model.ArchitectureName}: its decoder reads all its inputs at once in training, so it can only be teacher-forced (teacher forcing {options.TeacherForcing})");
        this.runDir = runDir;
        this.device = device ?? CPU;
        optimizer = optim.AdamW(model.parameters(), options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
        schedule = options.Schedule;
        budget = options.Budget;
        replicas = [model];
        replicaParameters = [model.parameters().ToList()];
    }

    /// <summary>The schedule in use (it differs from the options' when a warmup longer than the budget was shortened).</summary>
    public LearningRateSchedule Schedule => schedule;

    public string LastDir => Path.Combine(runDir, "last");
    public string BestDir => Path.Combine(runDir, "best");
    public string LogPath => Path.Combine(runDir, "train.jsonl");

    /// <summary>Continues from a checkpoint's optimizer, RNG and trainer state (its weights must already be in the model).</summary>
    public void Resume(Checkpoint.Loaded checkpoint)
    {
        if (checkpoint.State is null)
            throw new InvalidDataException($"{checkpoint.Directory}: no trainer state was loaded (a checkpoint written for inference, or loaded without withTrainerState); it cannot be resumed");
        Checkpoint.LoadOptimizerState(optimizer, checkpoint.OptimizerPath, checkpoint.Directory);
        State = checkpoint.State;
        savedStep = State.Step;
        Checkpoint.RestoreRng(State.RngState);
        if (State.WarmupShortened) schedule = ShortenedWarmup();
    }

    /// <summary>Share of the budget used before the next step (null: the run has no budget).</summary>
    private double? Progress(int batchesInEpoch) =>
        budget.Progress(State.Step, State.ElapsedSeconds, State.Epoch + (double)State.BatchInEpoch / Math.Max(1, batchesInEpoch));

    private LearningRateSchedule ShortenedWarmup() => schedule with { WarmupSteps = 0, WarmupFraction = options.WarmupFraction > 0 ? options.WarmupFraction : 0.05 };

    /// <summary>
    /// A warmup in steps that would take more than half of the steps the budget allows is replaced by a warmup over a
    /// share of the budget, with a notice saying what was chosen. The budget's steps are known for --max-steps, and
    /// estimated from the speed of the first 10 steps for a time budget.
    /// </summary>
    private void CheckWarmup(double? progress)
    {
        if (schedule.WarmupSteps == 0 || State.WarmupShortened) return;
        bool known = budget.MaxSteps > 0 && State.Step == 0;
        if (!known && (State.Step != 10 || progress is not > 0)) return;
        double allowed = known ? budget.MaxSteps : State.Step / progress!.Value;
        if (schedule.WarmupSteps <= allowed / 2) return;
        State.WarmupShortened = true;
        schedule = ShortenedWarmup();
        OnNotice?.Invoke($"warning: warmup of {options.WarmupSteps} steps is longer than half of the {(known ? "" : "~")}{allowed:N0} steps the budget allows; " +
                         $"warming up over the first {schedule.WarmupFraction:P0} of the budget instead ({schedule})");
    }

    /// <summary>
    /// Why a resumed run has nothing left to train (its step, time or epoch budget is spent, or early stopping
    /// triggered), as a sentence; null when it can go on. <see cref="Run"/> then returns at once.
    /// </summary>
    public string? Finished() => Finished(options, State);

    /// <summary>Why a run with <paramref name="options"/> that stands at <paramref name="state"/> has nothing left to train; null when it can go on.</summary>
    public static string? Finished(TrainerOptions options, TrainerState state)
    {
        if (options.MaxSteps > 0 && state.Step >= options.MaxSteps) return $"it has trained {state.Step} of {options.MaxSteps} steps";
        if (options.MaxSeconds > 0 && state.ElapsedSeconds >= options.MaxSeconds)
            return $"it has trained {TimeSpan.FromSeconds(state.ElapsedSeconds):hh\\:mm\\:ss} of a {TimeSpan.FromSeconds(options.MaxSeconds):hh\\:mm\\:ss} budget";
        if (options.MaxEpochs > 0 && state.Epoch >= options.MaxEpochs) return $"it has trained {state.Epoch} of {options.MaxEpochs} epochs";
        if (options.Patience > 0 && state.EvalsWithoutImprovement >= options.Patience)
            return $"it stopped early: dev BLEU did not improve for {state.EvalsWithoutImprovement} evaluations (patience {options.Patience})";
        return null;
    }

    public TrainingOutcome Run()
    {
        try { return Train(); }
        finally
        {
            workerThreads?.Dispose();
            workerThreads = null;
        }
    }

    private TrainingOutcome Train()
    {
        Directory.CreateDirectory(runDir);
        if (Finished() is not null)
        {
            if (options.AverageLastK > 1 && !Directory.Exists(Path.Combine(runDir, "averaged"))) AverageLast(runDir, options.AverageLastK);   // a kill came between the end and the average
            return TrainingOutcome.AlreadyFinished;
        }
        startElapsed = State.ElapsedSeconds;
        using var log = OpenLog();
        using var memoryLog = MemoryLog.FromEnvironment(runDir);                  // TRANSFORMERS_MEMORY_LOG=N: for measuring memory
        // A fresh run commits its starting point: from the first step on there is always a last/ to resume from, so a kill
        // during the first evaluation's saves (best/ before last/) leaves nothing that looks like another run's checkpoints.
        if (State.Step == 0 && State.History.Count == 0 && !Directory.Exists(LastDir)) SaveLast();
        clock.Restart();
        model.train();
        while (options.MaxEpochs <= 0 || State.Epoch < options.MaxEpochs)
        {
            var batches = data.Epoch(State.Epoch);
            while (State.BatchInEpoch < batches.Count)
            {
                int take = Math.Min(options.AccumulationSteps * options.Workers, batches.Count - State.BatchInEpoch);
                var group = Enumerable.Range(State.BatchInEpoch, take).Select(i => batches[i]).ToList();
                var progress = Progress(batches.Count);
                CheckWarmup(progress);
                double lr = schedule.At(State.Step + 1, progress);
                var stepClock = Stopwatch.StartNew();
                var (loss, nll, tokens, gradNorm) = TrainStep(group, State.BatchInEpoch, lr);
                State.Step++;
                State.BatchInEpoch += take;
                long before = State.TargetTokens;
                State.TargetTokens += tokens;
                State.ElapsedSeconds = startElapsed + clock.Elapsed.TotalSeconds;
                var record = new StepRecord(State.Step, State.Epoch, loss, nll, tokens, lr, gradNorm,
                                            tokens / Math.Max(1e-9, stepClock.Elapsed.TotalSeconds), State.ElapsedSeconds);
                log.WriteLine(TrainingLogLine.Of(record).ToJson());
                OnStep?.Invoke(record, State);
                foreach (long n in options.SnapshotAtTokens)
                    if (before < n && State.TargetTokens >= n) OffTheClock(() => Checkpoint.Save(Path.Combine(runDir, $"tokens-{n}"), model, vocabulary, withFiles: CheckpointFiles, tokenizer: TokenizerOptions));

                bool evalNow = (options.EvalEverySteps > 0 && State.Step % options.EvalEverySteps == 0)
                               || (options.EvalEverySeconds > 0 && State.ElapsedSeconds - LastEvalSeconds >= options.EvalEverySeconds);
                TorchRuntime.ReleaseFreedMemoryEvery(options.ReleaseMemoryEverySteps, State.Step);
                memoryLog?.Step(State.Step);
                if (evalNow && EvaluateAndSave(log)) return Finish(TrainingOutcome.EarlyStopped);
                if (evalNow) memoryLog?.Step(State.Step, "after-eval", force: true);
                if (Cancellation.IsCancellationRequested) { OffTheClock(SaveLast); return TrainingOutcome.Interrupted; }
                if (options.MaxSteps > 0 && State.Step >= options.MaxSteps) { if (!evalNow) EvaluateAndSave(log); return Finish(TrainingOutcome.StepLimit); }
                if (options.MaxSeconds > 0 && State.ElapsedSeconds >= options.MaxSeconds) { if (!evalNow) EvaluateAndSave(log); return Finish(TrainingOutcome.TimeLimit); }
            }
            State.Epoch++;
            State.BatchInEpoch = 0;
            if (options.EvalEverySteps == 0 && options.EvalEverySeconds == 0 && EvaluateAndSave(log)) return Finish(TrainingOutcome.EarlyStopped);   // per epoch unless timed
        }
        return Finish(TrainingOutcome.Completed);
    }

    /// <summary>
    /// train.jsonl, honest across kills and resumes: a fresh run starts a new log; a resumed one first cuts the log back
    /// to the lines of the steps and evaluations its checkpoint holds (a kill after the checkpoint logged steps that
    /// will be trained again) and drops a line a kill cut in half, so every line is valid JSON and every step appears once.
    /// </summary>
    private StreamWriter OpenLog() =>
        RunLog.Open(LogPath, fresh: State.Step == 0 && State.History.Count == 0,
                    line => TrainingLogLine.Parse(line) is { } record && record.Step <= State.Step);

    /// <summary>The step of the run's last/ checkpoint on disk, written by an earlier trainer (null: none, or unreadable).</summary>
    private long? SavedStep()
    {
        try { return Checkpoint.ReadState(LastDir)?.Step; }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Runs <paramref name="work"/> with the training clock stopped: evaluations and checkpoints do not use up a time budget.</summary>
    private void OffTheClock(Action work)
    {
        clock.Stop();
        try { work(); }
        finally { clock.Start(); }
    }

    /// <summary>One optimizer step over <paramref name="group"/>, batches <paramref name="first"/>.. of the epoch, spread over the workers.</summary>
    private (double Loss, double Nll, long Tokens, double GradNorm) TrainStep(IReadOnlyList<TranslationBatch> group, int first, double learningRate)
    {
        int workers = Math.Min(options.Workers, group.Count);
        var replicas = Replicas(workers);                                         // outside the step's dispose scope: they live on
        using var scope = NewDisposeScope();
        long tokens = group.Sum(b => b.TargetTokens);
        optimizer.zero_grad();
        foreach (var m in replicas.Skip(1)) m.zero_grad();
        if (options.TeacherForcing.Samples) model.TeacherForcingRatio = options.TeacherForcing.RatioAt(State.Step);   // one worker: the model
        var sums = new (int Batch, double Loss, double Nll)[workers][];
        if (workers == 1) sums[0] = Backward(replicas[0], group, first, 0, 1, tokens);
        else
        {
            workerThreads ??= new WorkerThreads(options.Workers);
            // No Scalar freed while the workers are in native calls: no finalizer runs (FinalizerGate), or, if the gate
            // cannot close in time or TRANSFORMERS_GC_FENCE=region, no collection (GcFence).
            if (finalizerGate?.Close(FinalizerGate.CloseTimeout) != true) gcFence.Hold();
            try { sums = workerThreads.Run(workers, w => Backward(replicas[w], group, first, w, workers, tokens)); }
            finally
            {
                finalizerGate?.Open();                                            // the workers have joined
                gcFence.Release();
            }
            AddGradients(workers);
        }
        // Summed on the host in batch order, so that any number of workers reports the same loss.
        var perBatch = sums.SelectMany(s => s).OrderBy(s => s.Batch).ToList();
        double lossSum = perBatch.Sum(s => s.Loss), nllSum = perBatch.Sum(s => s.Nll);
        if (!double.IsFinite(lossSum))
            throw new TrainingDivergedException($"the loss became {lossSum} at step {State.Step + 1} (learning rate {learningRate:G3}); training stopped. " +
                                                ((savedStep ?? SavedStep()) is { } saved ? $"The last checkpoint ({LastDir}, step {saved}) is unchanged. " : "No checkpoint was written. ") +
                                                $"Lower the learning rate (e.g. --lr {learningRate / 3:G2}) or lengthen the warmup.");
        double gradNorm = options.ClipNorm > 0
            ? nn.utils.clip_grad_norm_(model.parameters(), options.ClipNorm)
            : double.NaN;
        foreach (var g in optimizer.ParamGroups) g.LearningRate = learningRate;
        optimizer.step();
        CopyWeightsToReplicas(1);                  // every replica, also those this step left idle (an epoch's last, smaller group)
        return (lossSum / tokens, nllSum / tokens, tokens, gradNorm);
    }

    /// <summary>
    /// Forward and backward of every <paramref name="workers"/>-th batch of the group from <paramref name="worker"/> on
    /// <paramref name="replica"/>, each with dropout noise seeded by its place in the epoch; returns Σ loss and Σ nll
    /// (one host read per worker and step).
    /// </summary>
    private (int Batch, double Loss, double Nll)[] Backward(Seq2SeqModel replica, IReadOnlyList<TranslationBatch> group, int first, int worker, int workers, long tokens)
    {
        using var scope = NewDisposeScope();
        var sums = new List<Tensor>();                                            // [2] per batch: Σ loss, Σ nll
        var batches = new List<int>();
        for (int i = worker; i < group.Count; i += workers)
        {
            using var inner = NewDisposeScope();                                 // frees this batch's activations before the next one
            using var noise = DropoutNoise.Use(DropoutNoise.BatchSeed(options.Seed, State.Epoch, first + i), device);
            var t = group[i].ToTensors(replica);
            var logits = replica.Forward(t.Source, t.SourceMask, t.TargetIn);
            var s = LabelSmoothedCrossEntropy.Compute(logits, t.TargetOut, replica.Special.Pad, options.LabelSmoothing);
            s.Loss.div(tokens).backward();                                        // the group's mean per target token
            sums.Add(stack([s.Loss.detach(), s.Nll]).MoveToOuterDisposeScope());
            batches.Add(i);
        }
        var host = stack(sums).cpu().data<float>().ToArray();                    // [batches, 2], read once
        return batches.Select((b, j) => (b, (double)host[2 * j], (double)host[2 * j + 1])).ToArray();
    }

    /// <summary>The model, then one replica per further worker (built on first use from the model's config, weights copied).</summary>
    private IReadOnlyList<Seq2SeqModel> Replicas(int workers)
    {
        while (replicas.Count < workers)
        {
            var replica = TranslatorFactory.FromConfig(model.Architecture, model.ConfigJson(), "data-parallel replica");
            replica.to(device);
            replica.train();
            replicas.Add(replica);
            replicaParameters.Add(replica.parameters().ToList());
            CopyWeightsToReplicas(replicas.Count - 1);
        }
        return replicas;
    }

    /// <summary>Adds the gradients of replicas 1..<paramref name="workers"/>-1 to the model's, in worker order (so the sum is the same every run).</summary>
    private void AddGradients(int workers)
    {
        using var _ = no_grad();
        for (int w = 1; w < workers; w++)
            foreach (var (p, q) in replicaParameters[0].Zip(replicaParameters[w]))
            {
                if (q.grad is not { } g) continue;
                if (p.grad is { } acc) acc.add_(g);
                else p.grad = g.clone();
            }
    }

    /// <summary>Copies the model's weights into replicas <paramref name="from"/>.. (none when there is only the model).</summary>
    private void CopyWeightsToReplicas(int from)
    {
        using var _ = no_grad();
        for (int w = from; w < replicas.Count; w++)
            foreach (var (p, q) in replicaParameters[0].Zip(replicaParameters[w]))
                q.copy_(p);
    }

    /// <summary>Dev loss (and BLEU), keep-best, checkpoints; returns true when early stopping triggers.</summary>
    private bool EvaluateAndSave(StreamWriter log)
    {
        bool stop = false;
        // The workers' heaps hold the pages their steps freed; an evaluation runs on another thread's heap, so without a
        // release its memory comes on top of theirs (the peak of a run was in its evaluation: experiments/results/memory-rss).
        // Both releases are off the training clock, as the evaluation is.
        OffTheClock(() =>
        {
            TorchRuntime.ReleaseFreedMemory();
            stop = Evaluate(log);
            TorchRuntime.ReleaseFreedMemory();                                    // and what the evaluation freed
        });
        return stop;
    }

    private bool Evaluate(StreamWriter log)
    {
        var (devLoss, devPpl) = DevLoss();
        double? bleu = DevBleu?.Invoke(model);
        model.train();
        var record = new EvalRecord(State.Step, State.Epoch, State.ElapsedSeconds, State.TargetTokens, devLoss, devPpl, bleu);
        State.History.Add(record);
        double score = bleu ?? -devLoss;
        bool improved = score > State.BestScore;
        if (improved) { State.BestScore = score; State.BestStep = State.Step; State.EvalsWithoutImprovement = 0; }
        else State.EvalsWithoutImprovement++;
        log.WriteLine(TrainingLogLine.Of(record, improved, RunLog.PeakResidentBytes()).ToJson());
        OnEval?.Invoke(record, improved);
        // last/ is saved last: it commits the evaluation. A kill before it resumes from the previous last/, which trains
        // this step again and saves best/ and history/ again; a kill after it leaves them all saved.
        State.RngState = Checkpoint.EncodeRng();
        if (improved) Checkpoint.Save(BestDir, model, vocabulary, optimizer, State, CheckpointFiles, TokenizerOptions);
        if (options.AverageLastK > 1) Checkpoint.Save(Path.Combine(runDir, "history", $"step-{State.Step:D8}"), model, vocabulary, withFiles: CheckpointFiles, tokenizer: TokenizerOptions);
        CommitLast();
        return options.Patience > 0 && State.EvalsWithoutImprovement >= options.Patience;
    }

    private (double Loss, double Perplexity) DevLoss()
    {
        using var _ = no_grad();
        model.eval();
        double nll = 0;
        long tokens = 0;
        foreach (var batch in data.Dev)
        {
            using var scope = NewDisposeScope();
            var t = batch.ToTensors(model);
            var sums = LabelSmoothedCrossEntropy.Compute(model.Forward(t.Source, t.SourceMask, t.TargetIn), t.TargetOut, model.Special.Pad, 0);
            nll += sums.Nll.item<float>();
            tokens += batch.TargetTokens;
        }
        double mean = tokens == 0 ? double.NaN : nll / tokens;
        return (mean, Math.Exp(mean));
    }

    private void SaveLast()
    {
        State.RngState = Checkpoint.EncodeRng();
        CommitLast();
    }

    /// <summary>Saves last/ with the state as it is (its RNG state already taken).</summary>
    private void CommitLast()
    {
        Checkpoint.Save(LastDir, model, vocabulary, optimizer, State, CheckpointFiles, TokenizerOptions);
        savedStep = State.Step;
    }

    private TrainingOutcome Finish(TrainingOutcome outcome)
    {
        if (options.AverageLastK > 1) AverageLast(runDir, options.AverageLastK);
        model.eval();
        return outcome;
    }

    /// <summary>Averages the weights of the last K evaluation checkpoints into <c>averaged/</c> (Vaswani et al. §6.1).</summary>
    /// <remarks>Also for a run found finished whose averaging a kill prevented (see <see cref="Run"/>, and `train` on a finished run).</remarks>
    public static void AverageLast(string runDir, int k)
    {
        var dirs = Directory.GetDirectories(Path.Combine(runDir, "history")).Order(StringComparer.Ordinal).TakeLast(k).ToList();
        if (dirs.Count < 2) return;
        using var _ = no_grad();
        var loaded = dirs.Select(d => Checkpoint.Load(d)).ToList();
        try
        {
            // Floating-point tensors are averaged; integer ones (counters, buffers) are taken from the newest checkpoint.
            var averaged = loaded[^1].Model;
            var sum = averaged.state_dict().Where(kv => kv.Value.is_floating_point())
                .ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float64));
            foreach (var other in loaded.SkipLast(1))
                foreach (var (name, t) in other.Model.state_dict())
                    if (sum.TryGetValue(name, out var acc)) acc.add_(t.to(ScalarType.Float64));
            foreach (var (name, t) in averaged.state_dict())
                if (sum.TryGetValue(name, out var acc)) t.copy_(acc.div_(loaded.Count).to(t.dtype));
            Checkpoint.Save(Path.Combine(runDir, "averaged"), averaged, loaded[^1].Vocabulary, withFiles: [Path.Combine(loaded[^1].Directory, SpacingModel.FileName)],
                            tokenizer: loaded[^1].TokenizerOptions);
            foreach (var t in sum.Values) t.Dispose();
        }
        finally
        {
            foreach (var l in loaded) l.Model.Dispose();
        }
    }
}
