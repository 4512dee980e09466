using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using Transformers.Data;
using Transformers.Recurrent;
using Transformers.Tokenizer;
using Transformers.Training;
using static TorchSharp.torch;

namespace Transformers.Translation;

/// <summary>What a fresh run builds (a resumed run reads its model from its checkpoint).</summary>
public sealed record TranslatorSpec(TranslatorArchitecture Architecture, ModelPreset Preset = ModelPreset.Small, RecurrentAttention? Attention = null,
                                    bool Bidirectional = true, double? Dropout = null)
{
    /// <summary>A fresh model of this spec over <paramref name="tokenizer"/>'s vocabulary.</summary>
    public Seq2SeqModel Create(WordPieceTokenizer tokenizer) => TranslatorFactory.Create(Architecture, Preset, tokenizer, Attention, Bidirectional, Dropout);
}

/// <summary>What a training run ended with.</summary>
public sealed record TrainingResult(TrainingOutcome Outcome, TrainerState State)
{
    /// <summary>The evaluation with the best dev BLEU (null: none had one).</summary>
    public EvalRecord? Best => State.History.Where(h => h.DevBleu.HasValue).MaxBy(h => h.DevBleu!.Value);
}

/// <summary>
/// A translator's training run, from corpus to checkpoints, in a run directory it holds (<see cref="RunDirectory"/>):
/// <see cref="Open"/> loads the corpus, takes the directory, checks the settings against those the run started with, and
/// resumes from <c>last/</c> or builds a fresh vocabulary and model; <see cref="Train"/> trains. The CLI's <c>train</c>
/// and <c>demo</c>, the lab and a user's own program all go through here:
/// <code>
/// using var run = TranslationRun.Open("runs/gru", ["bundled"], new TranslatorSpec(TranslatorArchitecture.Gru),
///                                     TranslationRecipe.For(TranslatorArchitecture.Gru, ModelPreset.Small), log: Console.Error.WriteLine);
/// var result = run.Train();
/// </code>
/// </summary>
public sealed class TranslationRun : IDisposable
{
    private readonly RunDirectory directory;
    private readonly Action<string> log;
    private readonly Lazy<TranslationData> data;

    public CorpusSplit Split { get; }
    public TranslationRecipe Recipe { get; }
    public WordPieceTokenizer Tokenizer { get; }
    /// <summary>The model being trained (on <see cref="Device"/>), owned by the run.</summary>
    public Seq2SeqModel Model { get; }
    public Device Device { get; }
    /// <summary>The checkpoint the run resumed from (null: a fresh run).</summary>
    public Checkpoint.Loaded? Resumed { get; }
    /// <summary>Why the run is already finished (its budget spent, or early-stopped); null if it can train.</summary>
    public string? Finished { get; }
    public string Path => directory.Path;
    /// <summary>The training batches, dev set and spacing model (built on first use: a finished run does not tokenize its corpus).</summary>
    public TranslationData Data => data.Value;
    /// <summary>libtorch threads of each data-parallel worker (torch's thread count is process-wide).</summary>
    public int WorkerThreads { get; }

    private TranslationRun(RunDirectory directory, CorpusSplit split, IReadOnlyList<string> corpus, TranslatorSpec spec, TranslationRecipe recipe,
                           string device, int threads, Action<string> log)
    {
        this.directory = directory;
        this.log = log;
        Split = split;
        Recipe = recipe;
        foreach (var repair in directory.Repairs) log($"recovered: {repair}");
        TorchRuntime.EnsureLoaded();
        WorkerThreads = Math.Max(1, threads / recipe.Trainer.Workers);
        set_num_threads(WorkerThreads);
        Device = TorchRuntime.Device(device);
        log($"data: {split.Train.Count:N0} train, {split.Dev.Count:N0} dev, {split.Test.Count:N0} test pairs");

        if (!directory.CanResume) directory.CheckFreshStart();
        foreach (var change in directory.CheckAndSaveSettings(SettingsOf(spec, corpus, recipe))) log($"note: changed on resume: {change}");
        if (directory.CanResume)
        {
            Resumed = Checkpoint.Load(directory.LastDir, spec.Architecture, withTrainerState: true);
            Tokenizer = Resumed.Tokenizer();
            Model = Resumed.Model;
            if (Resumed.State is { } state && Trainer.Finished(recipe.Trainer, state) is { } finished)
            {
                Finished = finished;
                if (recipe.Trainer.AverageLastK > 1 && !Directory.Exists(System.IO.Path.Combine(Path, "averaged")))
                {
                    Trainer.AverageLast(Path, recipe.Trainer.AverageLastK);          // a kill came between the end of training and the average
                    log($"recovered: averaged/ (the last {recipe.Trainer.AverageLastK} evaluation checkpoints), which a kill at the end of training prevented");
                }
            }
            else
                log($"resuming {directory.LastDir} at step {Resumed.State?.Step} (epoch {Resumed.State?.Epoch}, {TimeSpan.FromSeconds(Resumed.State?.ElapsedSeconds ?? 0):hh\\:mm\\:ss} trained)");
        }
        else
        {
            var clock = Stopwatch.StartNew();
            Tokenizer = TranslationData.TrainTokenizer(split.Train, recipe.Data.VocabSize);
            log($"vocabulary: {Tokenizer.Vocabulary.Count:N0} WordPiece tokens (cased, joint fr+en), trained in {clock.Elapsed.TotalSeconds:F1} s");
            manual_seed(recipe.Trainer.Seed);
            Model = spec.Create(Tokenizer);
        }
        Model.to(Device);
        data = new Lazy<TranslationData>(() =>
        {
            var d = TranslationData.Create(Split, Tokenizer, Recipe.Data);
            d.Spacing.Save(System.IO.Path.Combine(Path, SpacingModel.FileName));
            return d;
        });
    }

    /// <summary>
    /// Opens the run at <paramref name="path"/> on the corpus <paramref name="corpus"/> (see <see cref="CorpusSplit.Load"/>):
    /// a run another process holds is refused before any work; a new directory is created only once the corpus has
    /// loaded, so that bad data leaves nothing behind. Messages (what was loaded, repaired, resumed) go to <paramref name="log"/>.
    /// </summary>
    /// <param name="threads">libtorch threads in all (0: one per core), shared among the recipe's data-parallel workers</param>
    public static TranslationRun Open(string path, IReadOnlyList<string> corpus, TranslatorSpec spec, TranslationRecipe recipe,
                                      string device = "cpu", int threads = 0, Action<string>? log = null)
    {
        var existing = Directory.Exists(path) ? RunDirectory.Open(path) : null;
        try
        {
            var split = CorpusSplit.Load(corpus.ToArray()).Require(string.Join(" ", corpus), SplitPart.Train, SplitPart.Dev, SplitPart.Test);
            var held = existing ?? RunDirectory.Open(path);
            existing = null;                                                        // the run owns it from here
            try
            {
                return new TranslationRun(held, split, corpus, spec, recipe, device, threads > 0 ? threads : Environment.ProcessorCount, log ?? (_ => { }));
            }
            catch
            {
                held.Dispose();
                throw;
            }
        }
        finally
        {
            existing?.Dispose();
        }
    }

    /// <summary>One line on the data and the recipe, as the run trains them.</summary>
    public string Describe()
    {
        var (d, r) = (Data, Recipe);
        string arch = Model.ArchitectureName;
        return $"training on {d.TrainPairs:N0} pairs (dropped: {d.Filter.DroppedTooShort} empty, {d.Filter.DroppedTooLong} too long, {d.Filter.DroppedRatio} length ratio); " +
               $"padding {d.PaddingFraction(0):P1}; {Model.parameters().Sum(p => p.numel()):N0} parameters\n" +
               $"recipe: {arch} {r.Preset.ToString().ToLowerInvariant()}, batches of {r.Data.MaxTokensPerBatch} tokens" +
               (r.Trainer.Workers > 1 ? $" on each of {r.Trainer.Workers} data-parallel workers ({WorkerThreads} thread{(WorkerThreads > 1 ? "s" : "")} each)" : "") +
               $", dropout {(r.Dropout is { } rd ? rd.ToString(CultureInfo.InvariantCulture) : "of the preset")}, learning rate {r.Trainer.Schedule}";
    }

    /// <summary>
    /// Trains until the recipe's budget is spent, patience runs out or <paramref name="cancellation"/> is set (then a
    /// checkpoint is saved first); a finished run returns <see cref="TrainingOutcome.AlreadyFinished"/> at once.
    /// </summary>
    public TrainingResult Train(Action<StepRecord, TrainerState>? onStep = null, Action<EvalRecord, bool>? onEval = null, Action<string>? onNotice = null,
                                CancellationToken cancellation = default)
    {
        if (Finished is not null) return new TrainingResult(TrainingOutcome.AlreadyFinished, Resumed!.State!);
        var trainer = new Trainer(Model, Data, Tokenizer.Vocabulary.Tokens, Recipe.Trainer, Path, Device)
        {
            // Evaluations decode on the workers' thread count: raising it for them and lowering it again left the training
            // steps after the first evaluation 1.4× slower (30-minute run, 2 workers; experiments/results/translation/speed).
            DevBleu = Data.DevBleu,
            OnStep = onStep,
            OnEval = onEval,
            OnNotice = onNotice ?? log,
            CheckpointFiles = [System.IO.Path.Combine(Path, SpacingModel.FileName)],
            TokenizerOptions = Tokenizer.Options,
            Cancellation = cancellation,
        };
        if (Resumed is not null) trainer.Resume(Resumed);
        var outcome = trainer.Run();
        return new TrainingResult(outcome, trainer.State);
    }

    /// <summary>
    /// The run's settings as the options that set them (run.json): those that shape the model or the data must be the
    /// same on resume; the budget, schedule and evaluation may change (each change is reported).
    /// </summary>
    public static RunSettings SettingsOf(TranslatorSpec spec, IReadOnlyList<string> corpus, TranslationRecipe recipe)
    {
        static string S(object? value) => RunSettings.Format(value);
        var (t, d) = (recipe.Trainer, recipe.Data);
        var data = string.Join(" ", corpus.Select(a => a == BundledCorpus.Name ? a : System.IO.Path.GetFullPath(a)));
        var fixedSettings = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["--arch"] = S(spec.Architecture), ["--preset"] = S(spec.Preset), ["--attention"] = S(spec.Attention),
            ["--unidirectional"] = S(!spec.Bidirectional), ["--dropout"] = S(spec.Dropout), ["--data"] = data,
            ["--vocab-size"] = S(d.VocabSize), ["--train-limit"] = S(d.TrainLimit), ["--batch-tokens"] = S(d.MaxTokensPerBatch * t.Workers),
            ["--seed"] = S(t.Seed),
        };
        var adjustable = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["--minutes"] = S(t.MaxSeconds / 60), ["--max-steps"] = S(t.MaxSteps), ["--max-epochs"] = S(t.MaxEpochs),
            ["--lr"] = S(t.LearningRate), ["--lr-decay"] = S(t.Decay), ["--lr-final"] = S(t.FinalLearningRateFraction),
            ["--warmup"] = S(t.WarmupSteps), ["--warmup-fraction"] = S(t.WarmupFraction),
            ["--eval-every"] = S(t.EvalEverySteps), ["--eval-minutes"] = S(t.EvalEverySeconds / 60), ["--dev-bleu-sentences"] = S(d.DevBleuSentences),
            ["--patience"] = S(t.Patience), ["--average"] = S(t.AverageLastK), ["--workers"] = S(t.Workers), ["--accumulate"] = S(t.AccumulationSteps),
            ["--snapshot-tokens"] = string.Join(" ", t.SnapshotAtTokens),
        };
        return new RunSettings(fixedSettings, adjustable);
    }

    public void Dispose()
    {
        Model.Dispose();
        directory.Dispose();
    }
}
