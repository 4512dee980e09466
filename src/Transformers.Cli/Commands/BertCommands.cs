using System.CommandLine;
using System.Globalization;
using TorchSharp;
using Transformers.Bert;
using Transformers.Bert.Pretraining;
using Transformers.Data;
using Transformers.Training;

namespace Transformers.Cli.Commands;

/// <summary>`transformers pretrain` (masked-language-model pretraining of a small BERT) and `fill-mask`.</summary>
public static class BertCommands
{
    public static Command Pretrain()
    {
        var input = new Option<string[]>("--input") { Description = "UTF-8 text files, one sentence per line (every 50th line is held out for evaluation).", AllowMultipleArgumentsPerToken = true }
            .ExistingFiles();
        var data = new Option<string?>("--data") { Description = "bundled: the bundled corpus's sentences, French and English (held out: its dev split); the default when --input is not given." }
            .OneOf(BundledCorpus.Name);
        var output = new Option<string>("--out") { Description = "Run directory (last/ and best/ in HF's layout: config.json, model.safetensors, vocab.txt; train.jsonl).", Required = true }.OutputDirectory();
        var preset = new Option<MlmPreset>("--preset") { Description = "Model size: tiny (2 x 64, for tests) or small (4 layers x 256, 4 heads).", DefaultValueFactory = _ => MlmPreset.Small }.OneOf();
        var minutes = new Option<double?>("--minutes") { Description = "Training-time budget in minutes (evaluations off the clock). Default 30 unless --max-steps is given." }.Within(0, 1e6, minOpen: true);
        var steps = new Option<long?>("--max-steps") { Description = "Optimizer-step budget." }.AtLeast(1);
        var vocab = new Option<int>("--vocab-size") { Description = "WordPiece vocabulary trained on the text, at least 100.", DefaultValueFactory = _ => 8000 }.AtLeast(100);
        var cased = new Option<bool>("--cased") { Description = "Keep case and accents (French); default is BERT-uncased." };
        var wholeWord = new Option<bool>("--whole-word-mask") { Description = "Mask whole words (a piece and its ## pieces) rather than single pieces." };
        var batchTokens = new Option<int>("--batch-tokens") { Description = "Tokens per batch after padding.", DefaultValueFactory = _ => 4096 }.AtLeast(64);
        var maxLength = new Option<int>("--max-length") { Description = "Longest sequence with [CLS] and [SEP] (longer sentences are cut), 8..512.", DefaultValueFactory = _ => 64 }.Within(8, 512);
        var lr = new Option<double>("--lr") { Description = "Peak learning rate (5 % warmup, linear decay over the budget).", DefaultValueFactory = _ => 5e-4 }.Within(0, 1, minOpen: true);
        var evalMinutes = new Option<double>("--eval-minutes") { Description = "Held-out masked loss and accuracy (and a checkpoint) every this many minutes of training.", DefaultValueFactory = _ => 5 }.Within(0, 1e6, minOpen: true);
        var seed = new Option<int>("--seed") { Description = "Seeds initialisation, batch order, masks and dropout.", DefaultValueFactory = _ => 1 };
        var runtime = new ModelRuntime();
        var cmd = new Command("pretrain", "Pretrain a small BERT with masked language modelling (80/10/10 masking, new masks each epoch) on text files or the bundled corpus. " +
                                          "Exit codes: 0 done, 1 error, 3 diverged, 130 interrupted (checkpoint saved).")
        {
            input, data, output, preset, minutes, steps, vocab, cased, wholeWord, batchTokens, maxLength, lr, evalMinutes, seed,
        };
        runtime.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var files = parse.GetValue(input) ?? [];
            if (files.Length > 0 && parse.GetValue(data) is not null) throw new ArgumentException("--data and --input: give one source of text");
            var text = MlmText.Load(files.Length > 0 ? files : [BundledCorpus.Name]);
            long maxSteps = parse.GetValue(steps) ?? 0;
            double seconds = (parse.GetValue(minutes) ?? (maxSteps > 0 ? 0 : 30)) * 60;
            var spec = new MlmRunSpec
            {
                Preset = parse.GetValue(preset),
                VocabSize = parse.GetValue(vocab),
                Cased = parse.GetValue(cased),
                Data = new MlmDataOptions
                {
                    MaxLength = parse.GetValue(maxLength), MaxTokensPerBatch = parse.GetValue(batchTokens), WholeWordMask = parse.GetValue(wholeWord), Seed = parse.GetValue(seed),
                },
                Trainer = new MlmTrainerOptions
                {
                    Schedule = new LearningRateSchedule { PeakLearningRate = parse.GetValue(lr), WarmupFraction = 0.05, Decay = LearningRateDecay.Linear },
                    MaxSteps = maxSteps, MaxSeconds = seconds, EvalEverySeconds = parse.GetValue(evalMinutes) * 60, Seed = parse.GetValue(seed),
                },
            };
            var settings = new RunSettings(
                new Dictionary<string, string>
                {
                    ["--input"] = files.Length > 0 ? string.Join(" ", files.Select(Path.GetFullPath)) : BundledCorpus.Name, ["--preset"] = RunSettings.Format(spec.Preset),
                    ["--vocab-size"] = RunSettings.Format(spec.VocabSize), ["--cased"] = RunSettings.Format(spec.Cased), ["--whole-word-mask"] = RunSettings.Format(spec.Data.WholeWordMask),
                    ["--batch-tokens"] = RunSettings.Format(spec.Data.MaxTokensPerBatch), ["--max-length"] = RunSettings.Format(spec.Data.MaxLength), ["--seed"] = RunSettings.Format(spec.Data.Seed),
                },
                new Dictionary<string, string>
                {
                    ["--minutes"] = RunSettings.Format(seconds / 60), ["--max-steps"] = RunSettings.Format(maxSteps), ["--lr"] = RunSettings.Format(parse.GetValue(lr)), ["--eval-minutes"] = RunSettings.Format(parse.GetValue(evalMinutes)),
                });
            runtime.Start(parse);
            using var run = MlmRun.Open(parse.GetValue(output)!, text, spec, parse.GetValue(runtime.Device)!, Console.Error.WriteLine, settings);
            using var interruption = new Interruption();
            DateTime lastLine = DateTime.MinValue;
            var outcome = run.Train(
                step =>
                {
                    if ((DateTime.UtcNow - lastLine).TotalSeconds < 30) return;
                    lastLine = DateTime.UtcNow;
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"[{step.ElapsedSeconds / 60,6:F2} min] step {step.Step,6} ep {step.Epoch} loss {step.Loss:F3} lr {step.LearningRate:0.00e+00} {step.TokensPerSecond,6:F0} tok/s"));
                },
                (e, improved) => Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[{e.ElapsedSeconds / 60,6:F2} min] step {e.Step,6} held-out masked loss {e.Loss:F3} accuracy {e.Accuracy:P1} ({e.Predictions} predictions), RSS {e.RssBytes / 1048576.0:N0} MiB (peak {e.PeakRssBytes / 1048576.0:N0}){(improved ? " *" : "")}")),
                interruption.Token);
            Console.Error.WriteLine($"{outcome}: saved in {run.Path}. Fill a mask with it: transformers fill-mask --model {run.Path} \"Impossible d'ouvrir le [MASK].\"");
            return outcome == TrainingOutcome.Interrupted ? 130 : 0;
        });
        return cmd;
    }

    public static Command FillMaskCommand()
    {
        var model = new Option<string>("--model") { Description = "A BERT checkpoint with its masked-language-model head (a `pretrain` run, or an HF BertForMaskedLM directory).", Required = true }
            .ExistingModel();
        var topK = new Option<int>("--top-k") { Description = "Candidates per [MASK], 1..100.", DefaultValueFactory = _ => 5 }.Within(1, 100);
        var texts = new Argument<string[]>("texts") { Description = "Texts with one or more [MASK] (none: stdin lines).", Arity = ArgumentArity.ZeroOrMore };
        var runtime = new ModelRuntime();
        var cmd = new Command("fill-mask", "Predict the words behind each [MASK]: the top-k pieces with probabilities, whole words reassembled, and the text filled.") { model, topK, texts };
        runtime.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var device = runtime.Start(parse);
            var lines = StandardStreams.ArgumentsOrLines(parse.GetValue(texts));
            var loaded = MlmCheckpoint.Load(parse.GetValue(model)!);
            using var m = loaded.Model;
            m.to(device);
            foreach (var text in lines)
            {
                var result = FillMask.Predict(m, loaded.Tokenizer, text, parse.GetValue(topK));
                Console.WriteLine(result.Filled);
                foreach (var mask in result.Masks)
                    Console.WriteLine($"  [MASK] {mask.Mask + 1}: " + string.Join("  ", mask.Candidates.Select(c =>
                        string.Create(CultureInfo.InvariantCulture, $"{c.Word} {c.Probability:0.000}"))));
            }
            return 0;
        });
        return cmd;
    }
}
