using System.CommandLine;
using System.Diagnostics;
using TorchSharp;
using Transformers.Data;
using Transformers.Evaluation;
using Transformers.Tokenizer;
using Transformers.Tokenizer.Models;
using Transformers.Training;
using Transformers.Translation;

namespace Transformers.Cli.Commands;

/// <summary>`transformers train | translate | demo` and `evaluate --model`: the French->English translator.</summary>
public static class TranslationCommands
{
    // ------------------------------------------------------------------ train

    public static Command Train()
    {
        var arch = new Option<TranslatorArchitecture>("--arch") { Description = "Architecture: transformer, lstm, gru or rnn.", DefaultValueFactory = _ => TranslatorArchitecture.Transformer }.OneOf();
        var data = new Option<string[]>("--data") { Description = "bundled, a directory written by `corpus export` (train/dev/test.tsv), or corpus files: .tsv (English<TAB>French), .po/.mo catalogs, or X.fr X.en (Moses).", DefaultValueFactory = _ => ["bundled"], AllowMultipleArgumentsPerToken = true }
            .ExistingCorpus();
        var output = new Option<string>("--out") { Description = "Run directory (checkpoints last/ and best/, train.jsonl).", Required = true }.OutputDirectory();
        var preset = new Option<ModelPreset>("--preset") { Description = "Model size: small (best dev BLEU per CPU-minute), matched (parameter-matched across architectures, for comparisons), base, tiny.", DefaultValueFactory = _ => ModelPreset.Small }.OneOf();
        var attention = new Option<string?>("--attention") { Description = "Recurrent archs: bahdanau, luong-dot, luong-general or none (default: the preset's)." }
            .OneOf("bahdanau", "luong-dot", "luong-general", "none");
        var unidirectional = new Option<bool>("--unidirectional") { Description = "Recurrent archs: a left-to-right encoder instead of the bidirectional one." };
        var common = new TrainingOptions();
        var cmd = new Command("train", "Train a French->English translator. Exit codes: 0 done, 1 error, " +
                                        $"{CliErrors.Diverged} training diverged (the loss became NaN or infinite; the last checkpoint is kept), 130 interrupted (checkpoint saved), " +
                                        $"{CliErrors.Unexpected} unexpected error ({CliErrors.DebugVariable}=1 prints its stack trace).")
        {
            arch, data, output, preset, attention, unidirectional,
        };
        common.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var a = parse.GetValue(arch);
            // Checked again when the model is built, but that is after the vocabulary is trained: here it fails at once.
            if (a == TranslatorArchitecture.Transformer && parse.GetValue(attention) is { } given)
                throw new ArgumentException($"--attention {given}: applies to the recurrent architectures (lstm, gru, rnn), not to the transformer");
            if (a == TranslatorArchitecture.Transformer && parse.GetValue(unidirectional))
                throw new ArgumentException("--unidirectional: applies to the recurrent architectures (lstm, gru, rnn), not to the transformer");
            var recipe = common.Read(parse, TranslationRecipe.For(a, parse.GetValue(preset)));
            var spec = new ModelSpec(a, recipe.Preset, ParseAttention(parse.GetValue(attention)), !parse.GetValue(unidirectional), recipe.Dropout);
            return RunTraining(spec, parse.GetValue(data)!, parse.GetValue(output)!, recipe, common.Runtime(parse), samples: false);
        });
        return cmd;
    }

    private static RecurrentAttention? ParseAttention(string? name) => name switch
    {
        null => null,
        "bahdanau" => RecurrentAttention.Bahdanau,
        "luong-dot" => RecurrentAttention.LuongDot,
        "luong-general" => RecurrentAttention.LuongGeneral,
        "none" => RecurrentAttention.None,
        _ => throw new ArgumentException($"--attention {name}: use bahdanau, luong-dot, luong-general or none"),
    };

    /// <summary>What model to build when a run starts fresh.</summary>
    private sealed record ModelSpec(TranslatorArchitecture Architecture, ModelPreset Preset, RecurrentAttention? Attention, bool Bidirectional, double? Dropout);

    /// <summary>Where and how fast to run.</summary>
    private sealed record RuntimeSettings(int Threads, string Device);

    /// <summary>Options shared by train and demo. Unset options take the recipe's value (see <see cref="TranslationRecipe"/>).</summary>
    private sealed class TrainingOptions
    {
        public readonly Option<double> Minutes = new("--minutes") { Description = "Stop after this many minutes of training (0: no limit). Evaluations and checkpoints are off the clock; warmup and decay are spread over this budget.", DefaultValueFactory = _ => 0 };
        public readonly Option<long> Steps = new("--max-steps") { Description = "Stop after this many optimizer steps (0: no limit).", DefaultValueFactory = _ => 0 };
        public readonly Option<int> Epochs = new("--max-epochs") { Description = "Stop after this many epochs (0: no limit).", DefaultValueFactory = _ => 30 };
        public readonly Option<int?> Vocab = new("--vocab-size") { Description = "Joint WordPiece vocabulary size (recipe: 8000)." };
        public readonly Option<int?> BatchTokens = new("--batch-tokens") { Description = "Tokens per optimizer step (padded, longer side), shared among the workers (recipe: transformer 1000, recurrent 4000)." };
        public readonly Option<int> Accumulate = new("--accumulate") { Description = "Batches per optimizer step.", DefaultValueFactory = _ => 1 };
        public readonly Option<double?> Lr = new("--lr") { Description = "Peak learning rate (recipe: 1e-3)." };
        public readonly Option<string?> Decay = new("--lr-decay") { Description = "After warmup: linear or cosine (to --lr-final × peak at the end of the budget), inverse-sqrt, or constant (recipe: transformer linear, recurrent constant)." };
        public readonly Option<double?> LrFinal = new("--lr-final") { Description = "Linear/cosine decay ends at this fraction of the peak (recipe: 0)." };
        public readonly Option<int?> Warmup = new("--warmup") { Description = "Warmup in optimizer steps (default: --warmup-fraction of the budget)." };
        public readonly Option<double?> WarmupFraction = new("--warmup-fraction") { Description = "Warmup as a share of the budget (recipe: transformer 0.05, recurrent 0.02)." };
        public readonly Option<double?> Dropout = new("--dropout") { Description = "Model dropout (recipe: transformer 0 except --preset base 0.1; recurrent: the preset's, 0.1 for small)." };
        public readonly Option<int> EvalEvery = new("--eval-every") { Description = "Evaluate every N steps (0: every epoch, unless --eval-minutes is given).", DefaultValueFactory = _ => 0 };
        public readonly Option<double> EvalMinutes = new("--eval-minutes") { Description = "Also evaluate every N minutes of training (0: off).", DefaultValueFactory = _ => 0 };
        public readonly Option<int?> DevBleu = new("--dev-bleu-sentences") { Description = "Dev sentences decoded (greedy) for BLEU at each evaluation (default 500)." };
        public readonly Option<int> Patience = new("--patience") { Description = "Early stopping: evaluations without dev BLEU improvement (0: never).", DefaultValueFactory = _ => 5 };
        public readonly Option<int> Average = new("--average") { Description = "Average the last K evaluation checkpoints at the end (0: off).", DefaultValueFactory = _ => 0 };
        public readonly Option<int> TrainLimit = new("--train-limit") { Description = "Train on the first N pairs only (0: all).", DefaultValueFactory = _ => 0 };
        public readonly Option<int> Seed = new("--seed") { Description = "Seed of initialisation, dropout and batch order.", DefaultValueFactory = _ => 1 };
        public readonly Option<int> Threads = new("--threads") { Description = "libtorch threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        public readonly Option<int?> Workers = new("--workers") { Description = "Data-parallel workers, each a replica of the model on its share of --threads; a step takes --accumulate batches per worker (default: one worker per thread)." };
        public readonly Option<long[]> Snapshots = new("--snapshot-tokens") { Description = "Save the weights after this many target tokens (tokens-N/; several allowed).", AllowMultipleArgumentsPerToken = true };
        public readonly Option<string> Device = new("--device") { Description = "cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };

        /// <summary>The rules every value must follow, checked at parse time (<see cref="OptionRules"/>), before any work.</summary>
        public TrainingOptions()
        {
            Minutes.Within(0, double.PositiveInfinity);
            Steps.AtLeast(0L);
            Epochs.AtLeast(0);
            Vocab.AtLeast(100);
            BatchTokens.AtLeast(1);
            Accumulate.AtLeast(1);
            Lr.Within(0, double.PositiveInfinity, minOpen: true);
            Decay.OneOf("linear", "cosine", "inverse-sqrt", "constant");
            LrFinal.Within(0, 1);
            Warmup.AtLeast(0);
            WarmupFraction.Within(0, 1, maxOpen: true);
            Dropout.Within(0, 1, maxOpen: true);
            EvalEvery.AtLeast(0);
            EvalMinutes.Within(0, double.PositiveInfinity);
            DevBleu.AtLeast(1);
            Patience.AtLeast(0);
            Average.AtLeast(0);
            TrainLimit.AtLeast(0);
            Threads.AtLeast(1);
            Workers.AtLeast(1);
            Snapshots.EachAtLeast(1);
            Device.Device();
        }

        public void AddTo(Command cmd)
        {
            foreach (var o in new Option[] { Minutes, Steps, Epochs, Vocab, BatchTokens, Accumulate, Lr, Decay, LrFinal, Warmup, WarmupFraction, Dropout, EvalEvery, EvalMinutes, DevBleu, Patience, Average, TrainLimit, Seed, Threads, Workers, Snapshots, Device })
                cmd.Options.Add(o);
        }

        public RuntimeSettings Runtime(ParseResult p) => new(p.GetValue(Threads), p.GetValue(Device)!);

        /// <summary>The recipe with every option the user gave applied over it.</summary>
        public TranslationRecipe Read(ParseResult p, TranslationRecipe recipe)
        {
            var t = recipe.Trainer;
            int? warmup = p.GetValue(Warmup);
            var trainer = t with
            {
                MaxSeconds = p.GetValue(Minutes) * 60, MaxSteps = p.GetValue(Steps), MaxEpochs = p.GetValue(Epochs),
                AccumulationSteps = p.GetValue(Accumulate), Workers = p.GetValue(Workers) ?? p.GetValue(Threads), LearningRate = p.GetValue(Lr) ?? t.LearningRate,
                Decay = p.GetValue(Decay) is { } d ? ParseDecay(d) : t.Decay, FinalLearningRateFraction = p.GetValue(LrFinal) ?? t.FinalLearningRateFraction,
                WarmupSteps = warmup ?? t.WarmupSteps, WarmupFraction = p.GetValue(WarmupFraction) ?? (warmup is not null ? 0 : t.WarmupFraction),
                EvalEverySteps = p.GetValue(EvalEvery), EvalEverySeconds = p.GetValue(EvalMinutes) * 60, Patience = p.GetValue(Patience),
                AverageLastK = p.GetValue(Average), Seed = p.GetValue(Seed), SnapshotAtTokens = p.GetValue(Snapshots) ?? [],
            };
            var data = recipe.Data with
            {
                VocabSize = p.GetValue(Vocab) ?? recipe.Data.VocabSize, MaxTokensPerBatch = (p.GetValue(BatchTokens) ?? recipe.Data.MaxTokensPerBatch) / trainer.Workers,
                DevBleuSentences = p.GetValue(DevBleu) ?? recipe.Data.DevBleuSentences, TrainLimit = p.GetValue(TrainLimit), Seed = p.GetValue(Seed),
            };
            // Single-option ranges are checked while parsing (the constructor); these span options.
            if (data.MaxTokensPerBatch < 1) throw new ArgumentException($"--batch-tokens {p.GetValue(BatchTokens)}: must be at least 1 per worker ({trainer.Workers} workers)");
            if (p.GetValue(Workers) is { } w && w > p.GetValue(Threads)) throw new ArgumentException($"--workers {w}: must be at most --threads ({p.GetValue(Threads)}), each worker runs on at least one thread");
            return recipe with { Trainer = trainer.Validate(), Data = data, Dropout = p.GetValue(Dropout) ?? recipe.Dropout };
        }

        private static LearningRateDecay ParseDecay(string name) => name switch
        {
            "linear" => LearningRateDecay.Linear,
            "cosine" => LearningRateDecay.Cosine,
            "inverse-sqrt" => LearningRateDecay.InverseSqrt,
            "constant" => LearningRateDecay.Constant,
            _ => throw new ArgumentException($"--lr-decay {name}: use linear, cosine, inverse-sqrt or constant"),
        };
    }

    private static int RunTraining(ModelSpec spec, string[] dataArgs, string run, TranslationRecipe recipe, RuntimeSettings runtime, bool samples)
    {
        // The run lock: a second trainer on an existing --out stops here, before any work; a new --out is created (and
        // locked) only once the corpus has loaded, so that bad data leaves no directory behind.
        var existing = Directory.Exists(run) ? RunDirectory.Open(run) : null;
        try
        {
            var split = LoadSplit(dataArgs);
            using var runDir = existing ?? RunDirectory.Open(run);
            return Train(spec, dataArgs, split, runDir, recipe, runtime, samples);
        }
        finally
        {
            existing?.Dispose();
        }
    }

    private static int Train(ModelSpec spec, string[] dataArgs, CorpusSplit split, RunDirectory runDir, TranslationRecipe recipe, RuntimeSettings runtime, bool samples)
    {
        string run = runDir.Path;
        foreach (var repair in runDir.Repairs) Console.Error.WriteLine($"recovered: {repair}");
        var settings = Settings(spec, dataArgs, recipe);
        TorchRuntime.EnsureLoaded();
        int workerThreads = Math.Max(1, runtime.Threads / recipe.Trainer.Workers);   // torch.set_num_threads is process-wide
        TorchSharp.torch.set_num_threads(workerThreads);
        var device = TorchRuntime.Device(runtime.Device);
        Console.Error.WriteLine($"data: {split.Train.Count:N0} train, {split.Dev.Count:N0} dev, {split.Test.Count:N0} test pairs");

        var lastDir = runDir.LastDir;
        string archName = TranslatorFactory.NameOf(spec.Architecture);
        if (!runDir.CanResume) runDir.CheckFreshStart();
        foreach (var change in runDir.CheckAndSaveSettings(settings)) Console.Error.WriteLine($"note: changed on resume: {change}");
        Checkpoint.Loaded? resume = runDir.CanResume ? Checkpoint.Load(lastDir, archName, withTrainerState: true) : null;
        if (resume?.State is { } saved && Trainer.Finished(recipe.Trainer, saved) is { } finished)
        {
            resume.Model.Dispose();
            if (recipe.Trainer.AverageLastK > 1 && !Directory.Exists(Path.Combine(run, "averaged")))
            {
                Trainer.AverageLast(run, recipe.Trainer.AverageLastK);                     // a kill came between the end of training and the average
                Console.Error.WriteLine($"recovered: averaged/ (the last {recipe.Trainer.AverageLastK} evaluation checkpoints), which a kill at the end of training prevented");
            }
            Console.Error.WriteLine($"{run} is finished: {finished}. Raise --minutes, --max-steps, --max-epochs or --patience to train it further, or choose another --out. " +
                                    $"Translate with it: transformers translate --model {run} \"Ouvrir le fichier\"");
            return 0;
        }
        WordPieceTokenizer tokenizer;
        Seq2SeqModel model;
        if (resume is not null)
        {
            Console.Error.WriteLine($"resuming {lastDir} at step {resume.State?.Step} (epoch {resume.State?.Epoch}, {TimeSpan.FromSeconds(resume.State?.ElapsedSeconds ?? 0):hh\\:mm\\:ss} trained)");
            tokenizer = resume.Tokenizer();
            model = resume.Model;
        }
        else
        {
            var clock = Stopwatch.StartNew();
            tokenizer = TranslationData.TrainTokenizer(split.Train, recipe.Data.VocabSize);
            Console.Error.WriteLine($"vocabulary: {tokenizer.Vocabulary.Count:N0} WordPiece tokens (cased, joint fr+en), trained in {clock.Elapsed.TotalSeconds:F1} s");
            TorchSharp.torch.manual_seed(recipe.Trainer.Seed);
            model = TranslatorFactory.Create(spec.Architecture, spec.Preset, tokenizer, spec.Attention, spec.Bidirectional, spec.Dropout);
        }
        model.to(device);
        var data = TranslationData.Create(split, tokenizer, recipe.Data);
        Directory.CreateDirectory(run);
        data.Spacing.Save(Path.Combine(run, SpacingModel.FileName));
        Console.Error.WriteLine($"training on {data.TrainPairs:N0} pairs (dropped: {data.Filter.DroppedTooShort} empty, {data.Filter.DroppedTooLong} too long, {data.Filter.DroppedRatio} length ratio); " +
                                $"padding {data.PaddingFraction(0):P1}; {model.parameters().Sum(p => p.numel()):N0} parameters");
        Console.Error.WriteLine($"recipe: {archName} {spec.Preset.ToString().ToLowerInvariant()}, batches of {recipe.Data.MaxTokensPerBatch} tokens" +
                                (recipe.Trainer.Workers > 1 ? $" on each of {recipe.Trainer.Workers} data-parallel workers ({workerThreads} thread{(workerThreads > 1 ? "s" : "")} each)" : "") +
                                $", dropout {(recipe.Dropout is { } rd ? rd.ToString(System.Globalization.CultureInfo.InvariantCulture) : "of the preset")}, learning rate {recipe.Trainer.Schedule}");
        var before = samples ? SampleTranslations(model, tokenizer, data.Spacing, split) : null;
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); Console.Error.WriteLine("\nCtrl-C: finishing this step and saving a checkpoint..."); };
        Console.CancelKeyPress += onCancel;
        // `kill` (SIGTERM), e.g. from a job scheduler or the end of a session, saves a checkpoint too.
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            cts.Cancel();
            Console.Error.WriteLine("\nSIGTERM: finishing this step and saving a checkpoint...");
        });
        var progress = new ProgressLine(recipe.Trainer);
        var trainer = new Trainer(model, data, tokenizer.Vocabulary.Tokens, recipe.Trainer, run, device)
        {
            // Evaluations decode on the workers' thread count: raising it for them and lowering it again left the training
            // steps after the first evaluation 1.4× slower (30-minute run, 2 workers; experiments/results/translation/speed).
            DevBleu = data.DevBleu,
            OnStep = progress.Step,
            OnEval = progress.Eval,
            OnNotice = progress.Notice,
            CheckpointFiles = [Path.Combine(run, SpacingModel.FileName)],
            Cancellation = cts.Token,
        };
        if (resume is not null) trainer.Resume(resume);
        TrainingOutcome outcome;
        try
        {
            outcome = trainer.Run();
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            progress.Done();
        }
        var best = trainer.State.History.Where(h => h.DevBleu.HasValue).MaxBy(h => h.DevBleu!.Value);
        Console.Error.WriteLine($"{outcome}: {trainer.State.Step} steps, {trainer.State.TargetTokens:N0} target tokens, {TimeSpan.FromSeconds(trainer.State.ElapsedSeconds):hh\\:mm\\:ss} of training; " +
                                (best is null ? "" : $"best dev BLEU {best.DevBleu:F2} at step {best.Step}; ") + $"saved in {run}");
        if (before is not null) ShowSamples(run, split, tokenizer, before);
        model.Dispose();
        return outcome == TrainingOutcome.Interrupted ? 130 : 0;
    }

    /// <summary>
    /// The run's settings as the options that set them (run.json): those that shape the model or the data must be the
    /// same on resume; the budget, schedule and evaluation may change (each change is reported).
    /// </summary>
    private static RunSettings Settings(ModelSpec spec, string[] dataArgs, TranslationRecipe recipe)
    {
        static string S(object? value) => value switch
        {
            null => "default",
            Enum e => System.Text.RegularExpressions.Regex.Replace(e.ToString(), "(?<=[a-z])(?=[A-Z])", "-").ToLowerInvariant(),   // as typed: luong-general
            double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
            _ => value.ToString()!.ToLowerInvariant(),
        };
        var (t, d) = (recipe.Trainer, recipe.Data);
        var data = string.Join(" ", dataArgs.Select(a => a == "bundled" ? a : Path.GetFullPath(a)));
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

    /// <summary>bundled | DIR | FILE.tsv | FILE.po/.mo ... | X.fr X.en -> a deterministic train/dev/test split (see <see cref="CorpusSplit.Load"/>).
    /// Training needs every part: it evaluates on dev, and a corpus too small for one is refused before any work.</summary>
    private static CorpusSplit LoadSplit(string[] args) => CorpusSplit.Load(args).Require(string.Join(" ", args), SplitPart.Train, SplitPart.Dev, SplitPart.Test);

    /// <summary>The held-out test sentences the demo shows: 8 of 4 to 12 words.</summary>
    private static List<SentencePair> Samples(CorpusSplit split) =>
        split.Test.Where(p => p.Target.Split(' ').Length is >= 4 and <= 12).Take(8).ToList();

    private static string[] SampleTranslations(Seq2SeqModel model, WordPieceTokenizer tokenizer, SpacingModel? spacing, CorpusSplit split)
    {
        bool training = model.training;
        var hyps = new TextTranslator(model, tokenizer) { Spacing = spacing }.Translate(Samples(split).Select(p => p.Source).ToList(), new DecodingOptions { BeamSize = 4 });
        if (training) model.train();
        return hyps;
    }

    private static void ShowSamples(string run, CorpusSplit split, WordPieceTokenizer tokenizer, string[] before)
    {
        var loaded = Checkpoint.Load(run);
        using var model = loaded.Model;
        var samples = Samples(split);
        var after = SampleTranslations(model, tokenizer, SpacingModel.Find(loaded.Directory), split);
        Console.WriteLine();
        Console.WriteLine($"held-out test sentences (beam 4): the untrained model, then {Path.GetFileName(loaded.Directory)}/ after training:");
        for (int i = 0; i < samples.Count; i++)
        {
            Console.WriteLine($"  fr:      {samples[i].Source}");
            Console.WriteLine($"  ref:     {samples[i].Target}");
            Console.WriteLine($"  before:  {before[i]}");
            Console.WriteLine($"  after:   {after[i]}");
            Console.WriteLine();
        }
    }

    // ------------------------------------------------------------------ demo

    public static Command Demo()
    {
        var output = new Option<string>("--out") { Description = "Run directory.", DefaultValueFactory = _ => Path.Combine("runs", "demo") }.OutputDirectory();
        var common = new TrainingOptions();
        var cmd = new Command("demo", "Train the Small translator on the bundled French->English corpus for a few minutes, then translate held-out sentences.") { output };
        common.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var recipe = common.Read(parse, TranslationRecipe.Demo());
            var t = recipe.Trainer;
            recipe = recipe with
            {
                Trainer = (t with
                {
                    MaxSeconds = t.MaxSeconds > 0 ? t.MaxSeconds : 5 * 60,
                    EvalEverySeconds = t.EvalEverySeconds > 0 ? t.EvalEverySeconds : 60,
                    Patience = 0,
                }).Validate(),
            };
            Console.Error.WriteLine($"demo: Small Transformer, bundled corpus, {recipe.Trainer.MaxSeconds / 60:0.##} minutes of training " +
                                    "(dev BLEU every minute, off the clock; Ctrl-C stops early and keeps the model)");
            var spec = new ModelSpec(TranslatorArchitecture.Transformer, recipe.Preset, null, true, recipe.Dropout);
            return RunTraining(spec, ["bundled"], parse.GetValue(output)!, recipe, common.Runtime(parse), samples: true);
        });
        return cmd;
    }

    // ------------------------------------------------------------------ translate

    public static Command Translate()
    {
        var model = new Option<string>("--model") { Description = "Run or checkpoint directory, or builtin (the translator that ships with this build).", Required = true }
            .ExistingModel(BuiltInTranslator.Name);
        var beam = BeamOption();
        var alpha = new Option<double>("--alpha") { Description = "GNMT length penalty α in [-5, 5] (0: none; > 0 favours longer translations).", DefaultValueFactory = _ => 0.6 }
            .Within(-5, 5);
        var nbest = new Option<int>("--nbest") { Description = "Print the n best translations (tab-separated with scores), 1..--beam.", DefaultValueFactory = _ => 1 }
            .Within(1, MaxBeam);
        var sentences = new Argument<string[]>("sentences") { Description = "French sentences (none: stdin lines).", Arity = ArgumentArity.ZeroOrMore };
        var cmd = new Command("translate", "Translate French to English: arguments or stdin lines to stdout.") { model, beam, alpha, nbest, sentences };
        cmd.SetAction(parse =>
        {
            int n = parse.GetValue(nbest);
            if (n > parse.GetValue(beam)) throw new ArgumentException($"--nbest {n}: must be at most --beam ({parse.GetValue(beam)}); the beam holds the candidates");
            TorchRuntime.EnsureLoaded();
            var (m, tokenizer, spacing) = LoadModel(parse.GetValue(model)!);
            using var _ = m;
            var input = parse.GetValue(sentences) is { Length: > 0 } given ? given : ReadLines();
            var translator = new TextTranslator(m, tokenizer)
            {
                Spacing = spacing,
                Truncated = (i, n, kept) => Console.Error.WriteLine($"warning: line {i + 1} has {n} tokens; the model takes {kept}: truncated"),
            };
            var options = new DecodingOptions { BeamSize = parse.GetValue(beam), Alpha = parse.GetValue(alpha), NBest = n };
            foreach (var hyps in translator.TranslateNBest(input, options))
                Console.WriteLine(n == 1 ? (hyps.Count == 0 ? "" : hyps[0].Text) : string.Join("\t", hyps.Select(h => $"{h.Text}\t{h.Score:F4}")));
            return 0;
        });
        return cmd;
    }

    /// <summary>The model, its tokenizer and spacing from a run or checkpoint directory, or the built-in translator ("builtin").</summary>
    public static (Seq2SeqModel Model, WordPieceTokenizer Tokenizer, SpacingModel? Spacing) LoadModel(string dir)
    {
        var loaded = Checkpoint.Load(dir);
        return (loaded.Model, loaded.Tokenizer(), loaded.Spacing());
    }

    /// <summary>The largest beam `translate` and `evaluate` take: wider beams cost time in proportion and do not help (BLEU peaks near 4 to 10).</summary>
    public const int MaxBeam = 100;

    /// <summary>`--beam` of `translate` and `evaluate --model`: the same rule in both.</summary>
    public static Option<int> BeamOption() =>
        new Option<int>("--beam") { Description = $"Beam size, 1..{MaxBeam} (1: greedy).", DefaultValueFactory = _ => 5 }.Within(1, MaxBeam);

    /// <summary>Stdin, one sentence per line (<see cref="TextLines"/>: lines end at \n or \r\n only, so every input line gets one output line).</summary>
    private static string[] ReadLines() => StandardStreams.InputLines().ToArray();

    /// <summary>`evaluate --model DIR --split dev|test [--data ...]`: translate a split and score it.</summary>
    public static int EvaluateModel(string dir, string splitName, int beam, int limit, string[] data, int threads)
    {
        TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(threads);
        var part = splitName switch { "dev" => SplitPart.Dev, "test" => SplitPart.Test, _ => throw new ArgumentException($"--split {splitName}: use dev or test") };
        var pairs = CorpusSplit.Load(data).Require(string.Join(" ", data), part)[part];
        if (limit > 0) pairs = pairs.Take(limit).ToList();
        var (model, tokenizer, spacing) = LoadModel(dir);
        using var _ = model;
        var clock = Stopwatch.StartNew();
        var hyps = new TextTranslator(model, tokenizer) { Spacing = spacing }.Translate(pairs.Select(p => p.Source).ToList(), new DecodingOptions { BeamSize = beam });
        Console.WriteLine($"{pairs.Count} {splitName} sentences translated in {clock.Elapsed.TotalSeconds:F1} s (beam {beam}) by {dir}");
        Console.WriteLine(EvaluateCommand.Report(hyps, [pairs.Select(p => p.Target).ToList()]));
        Console.WriteLine();
        for (int i = 0; i < Math.Min(5, pairs.Count); i++)
            Console.WriteLine($"  fr:  {pairs[i].Source}\n  ref: {pairs[i].Target}\n  out: {hyps[i]}\n");
        return 0;
    }
}

/// <summary>A one-line progress display on stderr: step, epoch, loss, tokens/s, learning rate, elapsed and ETA.</summary>
internal sealed class ProgressLine(TrainerOptions options)
{
    private readonly Stopwatch redraw = Stopwatch.StartNew();
    private double tokensPerSecond;

    public void Step(StepRecord r, TrainerState state)
    {
        tokensPerSecond = tokensPerSecond == 0 ? r.TokensPerSecond : 0.9 * tokensPerSecond + 0.1 * r.TokensPerSecond;
        if (redraw.ElapsedMilliseconds < 250) return;
        redraw.Restart();
        string eta = "";
        if (options.MaxSeconds > 0) eta = $" ETA {Clock(Math.Max(0, options.MaxSeconds - r.ElapsedSeconds))}";
        else if (options.MaxSteps > 0) eta = $" ETA {Clock(r.ElapsedSeconds / r.Step * (options.MaxSteps - r.Step))}";
        double fraction = options.MaxSeconds > 0 ? r.ElapsedSeconds / options.MaxSeconds : options.MaxSteps > 0 ? (double)r.Step / options.MaxSteps : 0;
        int filled = (int)Math.Clamp(fraction * 20, 0, 20);
        var bar = fraction > 0 ? "[" + new string('#', filled) + new string('.', 20 - filled) + "] " : "";
        Console.Error.Write($"\r{bar}step {r.Step} ep {r.Epoch} loss {r.Loss:F3} {tokensPerSecond:N0} tok/s lr {r.LearningRate:E2} {Clock(r.ElapsedSeconds)}{eta}   ");
    }

    public void Eval(EvalRecord e, bool improved) =>
        Console.Error.WriteLine($"\r  eval @ step {e.Step}: dev loss {e.DevLoss:F3} (ppl {e.DevPerplexity:F1})" +
                                (e.DevBleu is { } b ? $", dev BLEU {b:F2}" : "") + (improved ? "  * best" : "") + new string(' ', 20));

    /// <summary>"04:16" under an hour, "1:59:35" from an hour on.</summary>
    private static string Clock(double seconds)
    {
        var t = TimeSpan.FromSeconds(seconds);
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t:mm\\:ss}" : t.ToString("mm\\:ss");
    }

    public void Notice(string message) => Console.Error.WriteLine("\r" + message);

    public void Done() => Console.Error.WriteLine();
}
