using System.CommandLine;
using System.Globalization;
using TorchSharp;
using Transformers.Bert.Classification;
using Transformers.Bert.Pretraining;
using Transformers.Data;
using Transformers.Training;

namespace Transformers.Cli.Commands;

/// <summary>`transformers finetune` (a BERT classifier on the bundled corpus's packages, beside a bag-of-words baseline) and `classify`.</summary>
public static class ClassifierCommands
{
    public static Command Finetune()
    {
        var model = new Option<string>("--model") { Description = "The pretrained BERT to start from (a `pretrain` run or checkpoint).", Required = true }.ExistingModel();
        var output = new Option<string>("--out") { Description = "Run directory: best/ (the best classifier by dev accuracy, in HF's layout) and last/ (to resume: rerun the same command).", Required = true }.OutputDirectory();
        var epochs = new Option<int>("--epochs") { Description = "Epochs over the train split (the budget, unless --minutes or --max-steps ends it first).", DefaultValueFactory = _ => 3 }.Within(1, 1000);
        var minutes = new Option<double?>("--minutes") { Description = "Training-time budget in minutes." }.Within(0, 1e6, minOpen: true);
        var steps = new Option<long?>("--max-steps") { Description = "Optimizer-step budget." }.AtLeast(1);
        var lr = new Option<double>("--lr") { Description = "Peak learning rate (10 % warmup, linear decay).", DefaultValueFactory = _ => ClassifierOptions.DefaultLearningRate }.Within(0, 1, minOpen: true);
        var evalMinutes = new Option<double?>("--eval-minutes") { Description = "Also evaluate on dev (and checkpoint) every this many minutes of training; each epoch's end always is." }.Within(0, 1e6, minOpen: true);
        var limit = new Option<int>("--train-limit") { Description = "Use only the first N training texts (0: all).", DefaultValueFactory = _ => 0 }.AtLeast(0);
        var seed = new Option<int>("--seed") { Description = "Seeds the classifier layer's initial weights, the batch order and dropout.", DefaultValueFactory = _ => 1 };
        var runtime = new ModelRuntime();
        var cmd = new Command("finetune", "Fine-tune a pretrained BERT to tell which of the bundled corpus's 44 Debian packages an English message comes from; " +
                                          "reports dev and test accuracy beside a bag-of-words baseline (naive Bayes) and the majority class. " +
                                          "Exit codes: 0 done, 1 error, 3 diverged, 130 interrupted (checkpoint saved; rerun to resume).")
        {
            model, output, epochs, minutes, steps, lr, evalMinutes, limit, seed,
        };
        runtime.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var device = runtime.Start(parse);
            var task = ClassificationTask.Packages(BundledCorpus.LoadSplit());
            if (parse.GetValue(limit) is > 0 and var n) task = task with { Train = task.Train.Take(n).ToList() };
            var pretrained = MlmCheckpoint.Load(parse.GetValue(model)!);
            TorchSharp.torch.manual_seed(parse.GetValue(seed));
            using var classifier = new BertForSequenceClassification(pretrained.Model.Config, task.Labels.Count);
            classifier.LoadEncoder(pretrained.Model.Bert);
            pretrained.Model.Dispose();
            Console.Error.WriteLine($"task: {task.Name}, {task.Labels.Count} classes; {task.Train.Count:N0} train, {task.Dev.Count:N0} dev, {task.Test.Count:N0} test texts");
            var options = new ClassifierOptions
            {
                LearningRate = parse.GetValue(lr), MaxEpochs = parse.GetValue(epochs), MaxSeconds = (parse.GetValue(minutes) ?? 0) * 60, MaxSteps = parse.GetValue(steps) ?? 0,
                MaxLength = pretrained.Model.Config.MaxPositionEmbeddings, EvalEverySeconds = (parse.GetValue(evalMinutes) ?? 0) * 60, Seed = parse.GetValue(seed),
            };
            var fixedSettings = new Dictionary<string, string> { ["--model"] = Path.GetFullPath(pretrained.Directory), ["--train-limit"] = RunSettings.Format(parse.GetValue(limit)) };
            if (options.Seed != 1) fixedSettings["--seed"] = RunSettings.Format(options.Seed);     // the default is not recorded: runs made before --seed resume
            var settings = new RunSettings(
                fixedSettings,
                new Dictionary<string, string>
                {
                    ["--epochs"] = RunSettings.Format(options.MaxEpochs), ["--minutes"] = RunSettings.Format(options.MaxSeconds / 60), ["--max-steps"] = RunSettings.Format(options.MaxSteps),
                    ["--lr"] = RunSettings.Format(options.LearningRate), ["--eval-minutes"] = RunSettings.Format(options.EvalEverySeconds / 60),
                });
            using var interruption = new Interruption();
            var result = ClassifierTraining.Train(classifier, pretrained.Tokenizer, task, options, parse.GetValue(output)!, device, Console.Error.WriteLine, interruption.Token, settings);
            if (result.Outcome == TrainingOutcome.Interrupted)
            {
                Console.Error.WriteLine($"interrupted at step {result.Steps}: checkpoint saved in {Path.Combine(parse.GetValue(output)!, "last")}; rerun the same command to resume");
                return 130;
            }
            var baseline = new BagOfWords(task.Train, task.Labels);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"BERT classifier: dev accuracy {result.DevAccuracy:P2}, test accuracy {result.TestAccuracy:P2} ({result.Steps} steps, {result.Epochs} epochs, {result.Seconds / 60:F1} min)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"bag of words ({baseline}): dev accuracy {baseline.Accuracy(task.Dev):P2}, test accuracy {baseline.Accuracy(task.Test):P2}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"majority class: test accuracy {task.MajorityAccuracy(task.Test):P2}"));
            Console.WriteLine($"saved in {parse.GetValue(output)}; classify with: transformers classify --model {parse.GetValue(output)} \"Unable to open the file\"");
            return 0;
        });
        return cmd;
    }

    public static Command Classify()
    {
        var model = new Option<string>("--model") { Description = "A classifier saved by `finetune` (its run directory, or a checkpoint in it).", Required = true }.ExistingModel();
        var texts = new Argument<string[]>("texts") { Description = "Texts to classify (none: stdin lines).", Arity = ArgumentArity.ZeroOrMore };
        var runtime = new ModelRuntime();
        var cmd = new Command("classify", "Classify texts with a fine-tuned BERT: one label per input line.") { model, texts };
        runtime.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var device = runtime.Start(parse);
            var lines = StandardStreams.ArgumentsOrLines(parse.GetValue(texts));
            var loaded = ClassifierTraining.Load(parse.GetValue(model)!);
            using var m = loaded.Model;
            m.to(device);
            foreach (var label in ClassifierTraining.Predict(m, loaded.Tokenizer, lines, m.Config.MaxPositionEmbeddings))
                Console.WriteLine(loaded.Labels[label]);
            return 0;
        });
        return cmd;
    }
}
