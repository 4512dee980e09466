using System.CommandLine;
using Transformers.Data;
using Transformers.Tokenizer;
using Transformers.Training;
using Transformers.Translation;

namespace Transformers.Cli.Commands;

/// <summary>`transformers train` and `demo`: options into a recipe, then a <see cref="TranslationRun"/> with the console around it.</summary>
public static class TrainCommands
{
    public static Command Train()
    {
        var arch = new Option<TranslatorArchitecture>("--arch") { Description = "Architecture: transformer, lstm, gru or rnn.", DefaultValueFactory = _ => TranslatorArchitecture.Transformer }.OneOf();
        var data = new Option<string[]>("--data") { Description = "bundled, a directory written by `corpus export` (train/dev/test.tsv), or corpus files: .tsv (English<TAB>French), .po/.mo catalogs, or X.fr X.en (Moses).", DefaultValueFactory = _ => [BundledCorpus.Name], AllowMultipleArgumentsPerToken = true }
            .ExistingCorpus();
        var output = new Option<string>("--out") { Description = "Run directory (checkpoints last/ and best/, train.jsonl).", Required = true }.OutputDirectory();
        var preset = new Option<ModelPreset>("--preset") { Description = "Model size: small (best dev BLEU per CPU-minute), matched (parameter-matched across architectures, for comparisons), base, tiny.", DefaultValueFactory = _ => ModelPreset.Small }.OneOf();
        var attention = new Option<RecurrentAttention?>("--attention") { Description = "Recurrent archs: bahdanau, luong-dot, luong-general or none (default: the preset's)." }
            .OneOf();
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
                throw new ArgumentException($"--attention {OptionRules.EnumName(given)}: applies to the recurrent architectures (lstm, gru, rnn), not to the transformer");
            if (a == TranslatorArchitecture.Transformer && parse.GetValue(unidirectional))
                throw new ArgumentException("--unidirectional: applies to the recurrent architectures (lstm, gru, rnn), not to the transformer");
            var recipe = common.Read(parse, TranslationRecipe.For(a, parse.GetValue(preset)));
            var spec = new TranslatorSpec(a, recipe.Preset, parse.GetValue(attention), !parse.GetValue(unidirectional), recipe.Dropout);
            return RunTraining(spec, parse.GetValue(data)!, parse.GetValue(output)!, recipe, common.Runtime(parse), samples: false);
        });
        return cmd;
    }

    /// <summary>`train` and `demo`: the run (<see cref="TranslationRun"/>) with the console around it: progress, Ctrl-C and SIGTERM, samples.</summary>
    private static int RunTraining(TranslatorSpec spec, string[] corpus, string path, TranslationRecipe recipe, RuntimeSettings runtime, bool samples)
    {
        using var run = TranslationRun.Open(path, corpus, spec, recipe, runtime.Device, runtime.Threads, Console.Error.WriteLine);
        if (run.Finished is { } finished)
        {
            Console.Error.WriteLine($"{path} is finished: {finished}. Raise --minutes, --max-steps, --max-epochs or --patience to train it further, or choose another --out. " +
                                    $"Translate with it: transformers translate --model {path} \"Ouvrir le fichier\"");
            return 0;
        }
        Console.Error.WriteLine(run.Describe());
        var before = samples ? SampleTranslations(run.Model, run.Tokenizer, run.Data.Spacing, run.Split) : null;
        var progress = new ProgressLine(recipe.Trainer, terminal: !Console.IsErrorRedirected);
        TrainingResult result;
        using (var interruption = new Interruption())                              // Ctrl-C or `kill`: a checkpoint, then exit 130
        {
            try
            {
                result = run.Train(progress.Step, progress.Eval, progress.Notice, interruption.Token);
            }
            finally
            {
                progress.Done();
            }
        }
        var (state, best) = (result.State, result.Best);
        Console.Error.WriteLine($"{result.Outcome}: {state.Step} steps, {state.TargetTokens:N0} target tokens, {TimeSpan.FromSeconds(state.ElapsedSeconds):hh\\:mm\\:ss} of training; " +
                                (best is null ? "" : $"best dev BLEU {best.DevBleu:F2} at step {best.Step}; ") + $"saved in {path}");
        if (before is not null) ShowSamples(path, run.Split, run.Tokenizer, before);
        return result.Outcome == TrainingOutcome.Interrupted ? 130 : 0;
    }

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
            var spec = new TranslatorSpec(TranslatorArchitecture.Transformer, recipe.Preset, Dropout: recipe.Dropout);
            return RunTraining(spec, [BundledCorpus.Name], parse.GetValue(output)!, recipe, common.Runtime(parse), samples: true);
        });
        return cmd;
    }
}
