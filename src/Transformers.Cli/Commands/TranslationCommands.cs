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
        var arch = new Option<string>("--arch") { Description = "Architecture: transformer, lstm, gru or rnn.", DefaultValueFactory = _ => "transformer" };
        var data = new Option<string[]>("--data") { Description = "bundled, or corpus files: .tsv (English<TAB>French), .po/.mo catalogs, or X.fr X.en (Moses).", DefaultValueFactory = _ => ["bundled"], AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out") { Description = "Run directory (checkpoints last/ and best/, train.jsonl).", Required = true };
        var preset = new Option<string>("--preset") { Description = "Model size: tiny, small or base.", DefaultValueFactory = _ => "small" };
        var attention = new Option<string>("--attention") { Description = "Recurrent archs: bahdanau, luong-dot, luong-general or none.", DefaultValueFactory = _ => "bahdanau" };
        var unidirectional = new Option<bool>("--unidirectional") { Description = "Recurrent archs: a left-to-right encoder instead of the bidirectional one." };
        var common = new TrainingOptions();
        var cmd = new Command("train", "Train a French->English translator.") { arch, data, output, preset, attention, unidirectional };
        common.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var run = parse.GetValue(output)!;
            var o = common.Read(parse);
            return RunTraining(parse.GetValue(arch)!, parse.GetValue(data)!, run, parse.GetValue(preset)!, parse.GetValue(attention)!, o, demo: false,
                               bidirectional: !parse.GetValue(unidirectional));
        });
        return cmd;
    }

    /// <summary>Options shared by train and demo.</summary>
    private sealed class TrainingOptions
    {
        public readonly Option<double> Minutes = new("--minutes") { Description = "Stop after this many minutes of training (0: no limit).", DefaultValueFactory = _ => 0 };
        public readonly Option<long> Steps = new("--max-steps") { Description = "Stop after this many optimizer steps (0: no limit).", DefaultValueFactory = _ => 0 };
        public readonly Option<int> Epochs = new("--max-epochs") { Description = "Stop after this many epochs.", DefaultValueFactory = _ => 30 };
        public readonly Option<int> Vocab = new("--vocab-size") { Description = "Joint WordPiece vocabulary size.", DefaultValueFactory = _ => 16000 };
        public readonly Option<int> BatchTokens = new("--batch-tokens") { Description = "Tokens per batch (padded, longer side).", DefaultValueFactory = _ => 4096 };
        public readonly Option<int> Accumulate = new("--accumulate") { Description = "Batches per optimizer step.", DefaultValueFactory = _ => 1 };
        public readonly Option<double> Lr = new("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => 7e-4 };
        public readonly Option<int> Warmup = new("--warmup") { Description = "Warmup steps.", DefaultValueFactory = _ => 1000 };
        public readonly Option<int> EvalEvery = new("--eval-every") { Description = "Evaluate every N steps (0: every epoch).", DefaultValueFactory = _ => 0 };
        public readonly Option<double> EvalMinutes = new("--eval-minutes") { Description = "Also evaluate every N minutes (0: off).", DefaultValueFactory = _ => 0 };
        public readonly Option<int> Patience = new("--patience") { Description = "Early stopping: evaluations without dev BLEU improvement.", DefaultValueFactory = _ => 5 };
        public readonly Option<int> Average = new("--average") { Description = "Average the last K evaluation checkpoints at the end (0: off).", DefaultValueFactory = _ => 0 };
        public readonly Option<int> TrainLimit = new("--train-limit") { Description = "Train on the first N pairs only (0: all).", DefaultValueFactory = _ => 0 };
        public readonly Option<int> Seed = new("--seed") { Description = "Seed of initialisation, dropout and batch order.", DefaultValueFactory = _ => 1 };
        public readonly Option<int> Threads = new("--threads") { Description = "libtorch threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        public readonly Option<long[]> Snapshots = new("--snapshot-tokens") { Description = "Save the weights after this many target tokens (tokens-N/; several allowed).", AllowMultipleArgumentsPerToken = true };
        public readonly Option<string> Device = new("--device") { Description = "cpu, cuda or cuda:N.", DefaultValueFactory = _ => "cpu" };

        public void AddTo(Command cmd)
        {
            foreach (var o in new Option[] { Minutes, Steps, Epochs, Vocab, BatchTokens, Accumulate, Lr, Warmup, EvalEvery, EvalMinutes, Patience, Average, TrainLimit, Seed, Threads, Snapshots, Device })
                cmd.Options.Add(o);
        }

        public Settings Read(ParseResult p) => new(
            new TrainerOptions
            {
                MaxSeconds = p.GetValue(Minutes) * 60, MaxSteps = p.GetValue(Steps), MaxEpochs = p.GetValue(Epochs),
                AccumulationSteps = p.GetValue(Accumulate), LearningRate = p.GetValue(Lr), WarmupSteps = p.GetValue(Warmup),
                EvalEverySteps = p.GetValue(EvalEvery), EvalEverySeconds = p.GetValue(EvalMinutes) * 60, Patience = p.GetValue(Patience),
                AverageLastK = p.GetValue(Average), Seed = p.GetValue(Seed), SnapshotAtTokens = p.GetValue(Snapshots) ?? [],
            },
            new TranslationDataOptions
            {
                VocabSize = p.GetValue(Vocab), MaxTokensPerBatch = p.GetValue(BatchTokens), TrainLimit = p.GetValue(TrainLimit), Seed = p.GetValue(Seed),
            },
            p.GetValue(Threads), p.GetValue(Device)!);
    }

    private sealed record Settings(TrainerOptions Trainer, TranslationDataOptions Data, int Threads, string Device);

    private static int RunTraining(string arch, string[] dataArgs, string run, string preset, string attention, Settings s, bool demo, bool bidirectional = true)
    {
        TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(Math.Max(1, s.Threads));
        var device = TorchRuntime.Device(s.Device);
        var split = LoadSplit(dataArgs);
        Console.Error.WriteLine($"data: {split.Train.Count:N0} train, {split.Dev.Count:N0} dev, {split.Test.Count:N0} test pairs");

        var lastDir = Path.Combine(run, "last");
        Checkpoint.Loaded? resume = Directory.Exists(lastDir) ? Checkpoint.Load(lastDir, arch) : null;
        WordPieceTokenizer tokenizer;
        Seq2SeqModel model;
        if (resume is not null)
        {
            Console.Error.WriteLine($"resuming {lastDir} at step {resume.State?.Step} (epoch {resume.State?.Epoch})");
            tokenizer = resume.Tokenizer();
            model = resume.Model;
        }
        else
        {
            var clock = Stopwatch.StartNew();
            tokenizer = TranslationData.TrainTokenizer(split.Train, s.Data.VocabSize);
            Console.Error.WriteLine($"vocabulary: {tokenizer.Vocabulary.Count:N0} WordPiece tokens (cased, joint fr+en), trained in {clock.Elapsed.TotalSeconds:F1} s");
            TorchSharp.torch.manual_seed(s.Trainer.Seed);
            model = CreateModel(arch, preset, attention, bidirectional, tokenizer);
        }
        model.to(device);
        var data = TranslationData.Create(split, tokenizer, s.Data);
        Directory.CreateDirectory(run);
        data.Spacing.Save(Path.Combine(run, SpacingModel.FileName));
        Console.Error.WriteLine($"training on {data.TrainPairs:N0} pairs (dropped: {data.Filter.DroppedTooShort} empty, {data.Filter.DroppedTooLong} too long, {data.Filter.DroppedRatio} length ratio); " +
                                $"padding {data.PaddingFraction(0):P1}; {model.parameters().Sum(p => p.numel()):N0} parameters");
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); Console.Error.WriteLine("\nCtrl-C: finishing this step and saving a checkpoint..."); };
        Console.CancelKeyPress += onCancel;
        var progress = new ProgressLine(s.Trainer);
        var trainer = new Trainer(model, data, tokenizer.Vocabulary.Tokens, s.Trainer, run, device)
        {
            DevBleu = data.DevBleu,
            OnStep = progress.Step,
            OnEval = progress.Eval,
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
        Console.Error.WriteLine($"{outcome}: {trainer.State.Step} steps, {trainer.State.TargetTokens:N0} target tokens, {TimeSpan.FromSeconds(trainer.State.ElapsedSeconds):hh\\:mm\\:ss}; " +
                                (best is null ? "" : $"best dev BLEU {best.DevBleu:F2} at step {best.Step}; ") + $"saved in {run}");
        if (demo) ShowSamples(run, split, tokenizer);
        model.Dispose();
        return outcome == TrainingOutcome.Interrupted ? 130 : 0;
    }

    private static Seq2SeqModel CreateModel(string arch, string preset, string attention, bool bidirectional, WordPieceTokenizer tokenizer)
    {
        var special = TranslationData.SpecialsOf(tokenizer);
        int vocab = tokenizer.Vocabulary.Count;
        if (preset is not ("tiny" or "small" or "base")) throw new ArgumentException($"--preset {preset}: use tiny, small or base");
        if (arch == "transformer")
        {
            if (!bidirectional) throw new ArgumentException("--unidirectional applies to the recurrent architectures (lstm, gru, rnn), not to the transformer");
            var config = preset switch { "tiny" => TransformerConfig.Tiny(vocab), "small" => TransformerConfig.Small(vocab), _ => TransformerConfig.Base(vocab) };
            config = config with { PadId = special.Pad, BosId = special.Bos, EosId = special.Eos, UnkId = special.Unk, MaxLength = Math.Max(config.MaxLength, 128) };
            return new TransformerTranslator(config);
        }
        var cell = arch switch
        {
            "lstm" => Recurrent.RecurrentCellKind.Lstm,
            "gru" => Recurrent.RecurrentCellKind.Gru,
            "rnn" => Recurrent.RecurrentCellKind.Rnn,
            _ => throw new ArgumentException($"--arch {arch}: use transformer, lstm, gru or rnn"),
        };
        var kind = attention switch
        {
            "bahdanau" => RecurrentAttention.Bahdanau,
            "luong-dot" => RecurrentAttention.LuongDot,
            "luong-general" => RecurrentAttention.LuongGeneral,
            "none" => RecurrentAttention.None,
            _ => throw new ArgumentException($"--attention {attention}: use bahdanau, luong-dot, luong-general or none"),
        };
        var rc = preset switch
        {
            "tiny" => RecurrentTranslatorConfig.Tiny(vocab, cell, kind),
            "small" => RecurrentTranslatorConfig.Small(vocab, cell, kind),
            _ => RecurrentTranslatorConfig.Base(vocab, cell, kind),
        };
        return new RecurrentTranslator(rc with { PadId = special.Pad, BosId = special.Bos, EosId = special.Eos, UnkId = special.Unk, BidirectionalEncoder = bidirectional });
    }

    /// <summary>bundled | FILE.tsv | FILE.po/.mo ... | X.fr X.en -> a deterministic train/dev/test split.</summary>
    private static CorpusSplit LoadSplit(string[] args)
    {
        if (args.Length == 0 || (args.Length == 1 && args[0] == "bundled")) return BundledCorpus.LoadSplit();
        var pairs = new List<SentencePair>();
        var files = args.ToList();
        var fr = files.FirstOrDefault(f => f.EndsWith(".fr", StringComparison.Ordinal));
        var en = files.FirstOrDefault(f => f.EndsWith(".en", StringComparison.Ordinal));
        if (fr is not null && en is not null)
        {
            pairs.AddRange(ParallelCorpus.FromMoses(fr, en).Pairs);
            files.Remove(fr);
            files.Remove(en);
        }
        foreach (var f in files)
        {
            var ext = Path.GetExtension(f).ToLowerInvariant();
            pairs.AddRange(ext switch
            {
                ".po" or ".mo" => ParallelCorpus.FromGettext(f).Pairs,
                ".tsv" or ".txt" => ParallelCorpus.FromTsv(f, TsvColumns.TatoebaFrenchEnglish).Pairs,
                _ => throw new ArgumentException($"--data {f}: unknown corpus format (use .tsv, .po, .mo, or a .fr/.en pair)"),
            });
        }
        if (pairs.Count == 0) throw new ArgumentException($"--data {string.Join(" ", args)}: no sentence pairs");
        return CorpusSplit.Create(pairs);
    }

    private static void ShowSamples(string run, CorpusSplit split, WordPieceTokenizer tokenizer)
    {
        var loaded = Checkpoint.Load(run);
        using var model = loaded.Model;
        var samples = split.Test.Where(p => p.Target.Split(' ').Length is >= 4 and <= 12).Take(8).ToList();
        var hyps = new TextTranslator(model, tokenizer) { Spacing = SpacingModel.Find(loaded.Directory) }.Translate(samples.Select(p => p.Source).ToList(), new DecodingOptions { BeamSize = 4 });
        Console.WriteLine();
        Console.WriteLine($"held-out test sentences, translated by {Path.GetFileName(loaded.Directory)} (beam 4):");
        for (int i = 0; i < samples.Count; i++)
        {
            Console.WriteLine($"  fr:  {samples[i].Source}");
            Console.WriteLine($"  ref: {samples[i].Target}");
            Console.WriteLine($"  out: {hyps[i]}");
            Console.WriteLine();
        }
    }

    // ------------------------------------------------------------------ demo

    public static Command Demo()
    {
        var output = new Option<string>("--out") { Description = "Run directory.", DefaultValueFactory = _ => Path.Combine("runs", "demo") };
        var common = new TrainingOptions();
        var cmd = new Command("demo", "Train the Small translator on the bundled French->English corpus for a few minutes, then translate held-out sentences.") { output };
        common.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var s = common.Read(parse);
            s = s with
            {
                Trainer = s.Trainer with
                {
                    MaxSeconds = s.Trainer.MaxSeconds > 0 ? s.Trainer.MaxSeconds : 5 * 60,
                    EvalEverySeconds = s.Trainer.EvalEverySeconds > 0 ? s.Trainer.EvalEverySeconds : 60,
                    WarmupSteps = Math.Min(s.Trainer.WarmupSteps, 400), LearningRate = Math.Max(s.Trainer.LearningRate, 1e-3),
                },
                Data = s.Data with { DevBleuSentences = 200 },
            };
            Console.Error.WriteLine($"demo: Small Transformer, bundled corpus, {s.Trainer.MaxSeconds / 60:F0} minutes of training (Ctrl-C stops early and keeps the model)");
            return RunTraining("transformer", ["bundled"], parse.GetValue(output)!, "small", "none", s, demo: true);
        });
        return cmd;
    }

    // ------------------------------------------------------------------ translate

    public static Command Translate()
    {
        var model = new Option<string>("--model") { Description = "Run or checkpoint directory, or builtin (the translator that ships with this build).", Required = true };
        var beam = new Option<int>("--beam") { Description = "Beam size (1: greedy).", DefaultValueFactory = _ => 5 };
        var alpha = new Option<double>("--alpha") { Description = "GNMT length penalty α.", DefaultValueFactory = _ => 0.6 };
        var nbest = new Option<int>("--nbest") { Description = "Print the n best translations (tab-separated with scores).", DefaultValueFactory = _ => 1 };
        var sentences = new Argument<string[]>("sentences") { Description = "French sentences (none: stdin lines).", Arity = ArgumentArity.ZeroOrMore };
        var cmd = new Command("translate", "Translate French to English: arguments or stdin lines to stdout.") { model, beam, alpha, nbest, sentences };
        cmd.SetAction(parse =>
        {
            TorchRuntime.EnsureLoaded();
            var (m, tokenizer, spacing) = LoadModel(parse.GetValue(model)!);
            using var _ = m;
            var input = parse.GetValue(sentences) is { Length: > 0 } given ? given : ReadLines(Console.In);
            var translator = new TextTranslator(m, tokenizer)
            {
                Spacing = spacing,
                Truncated = (i, n, kept) => Console.Error.WriteLine($"warning: line {i + 1} has {n} tokens; the model takes {kept}: truncated"),
            };
            int n = parse.GetValue(nbest);
            var options = new DecodingOptions { BeamSize = Math.Max(parse.GetValue(beam), n), Alpha = parse.GetValue(alpha), NBest = n };
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

    private static string[] ReadLines(TextReader reader)
    {
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line);
        return lines.ToArray();
    }

    /// <summary>`evaluate --model DIR --split dev|test`: translate a split of the bundled corpus and score it.</summary>
    public static int EvaluateModel(string dir, string splitName, int beam, int limit)
    {
        TorchRuntime.EnsureLoaded();
        var part = splitName switch { "dev" => SplitPart.Dev, "test" => SplitPart.Test, _ => throw new ArgumentException($"--split {splitName}: use dev or test") };
        var pairs = BundledCorpus.LoadSplit()[part];
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
        if (options.MaxSeconds > 0) eta = $" ETA {TimeSpan.FromSeconds(Math.Max(0, options.MaxSeconds - r.ElapsedSeconds)):mm\\:ss}";
        else if (options.MaxSteps > 0) eta = $" ETA {TimeSpan.FromSeconds(r.ElapsedSeconds / r.Step * (options.MaxSteps - r.Step)):hh\\:mm\\:ss}";
        double fraction = options.MaxSeconds > 0 ? r.ElapsedSeconds / options.MaxSeconds : options.MaxSteps > 0 ? (double)r.Step / options.MaxSteps : 0;
        int filled = (int)Math.Clamp(fraction * 20, 0, 20);
        var bar = fraction > 0 ? "[" + new string('#', filled) + new string('.', 20 - filled) + "] " : "";
        Console.Error.Write($"\r{bar}step {r.Step} ep {r.Epoch} loss {r.Loss:F3} {tokensPerSecond:N0} tok/s lr {r.LearningRate:E2} {TimeSpan.FromSeconds(r.ElapsedSeconds):mm\\:ss}{eta}   ");
    }

    public void Eval(EvalRecord e, bool improved) =>
        Console.Error.WriteLine($"\r  eval @ step {e.Step}: dev loss {e.DevLoss:F3} (ppl {e.DevPerplexity:F1})" +
                                (e.DevBleu is { } b ? $", dev BLEU {b:F2}" : "") + (improved ? "  * best" : "") + new string(' ', 20));

    public void Done() => Console.Error.WriteLine();
}
