using System.CommandLine;
using Transformers.Training;
using Transformers.Translation;

namespace Transformers.Cli.Commands;

/// <summary>Where and how fast to run.</summary>
internal sealed record RuntimeSettings(int Threads, string Device);

/// <summary>Options shared by train and demo. Unset options take the recipe's value (see <see cref="TranslationRecipe"/>).</summary>
internal sealed class TrainingOptions
{
    public readonly Option<double> Minutes = new("--minutes") { Description = "Stop after this many minutes of training (0: no limit). Evaluations and checkpoints are off the clock; warmup and decay are spread over this budget.", DefaultValueFactory = _ => 0 };
    public readonly Option<long> Steps = new("--max-steps") { Description = "Stop after this many optimizer steps (0: no limit).", DefaultValueFactory = _ => 0 };
    public readonly Option<int> Epochs = new("--max-epochs") { Description = "Stop after this many epochs (0: no limit).", DefaultValueFactory = _ => 30 };
    public readonly Option<int?> Vocab = new("--vocab-size") { Description = "Joint WordPiece vocabulary size (recipe: 8000)." };
    public readonly Option<int?> BatchTokens = new("--batch-tokens") { Description = "Tokens per optimizer step (padded, longer side), shared among the workers (recipe: transformer, small GRU and small LSTM 1000, other recurrent 4000)." };
    public readonly Option<int> Accumulate = new("--accumulate") { Description = "Batches per optimizer step.", DefaultValueFactory = _ => 1 };
    public readonly Option<double?> Lr = new("--lr") { Description = "Peak learning rate (recipe: transformer 2e-3, gru and lstm 2e-3 (small), other recurrent 1e-3; demo 1e-3)." };
    public readonly Option<LearningRateDecay?> Decay = new("--lr-decay") { Description = "After warmup: linear or cosine (to --lr-final × peak at the end of the budget), inverse-sqrt, or constant (recipe: transformer and small gru linear, other recurrent constant)." };
    public readonly Option<double?> LrFinal = new("--lr-final") { Description = "Linear/cosine decay ends at this fraction of the peak (recipe: 0)." };
    public readonly Option<int?> Warmup = new("--warmup") { Description = "Warmup in optimizer steps (default: --warmup-fraction of the budget)." };
    public readonly Option<double?> WarmupFraction = new("--warmup-fraction") { Description = "Warmup as a share of the budget (recipe: transformer 0.15, small gru 0.05, other recurrent 0.02; demo 0.3)." };
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
        Decay.OneOf();
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
            Decay = p.GetValue(Decay) ?? t.Decay, FinalLearningRateFraction = p.GetValue(LrFinal) ?? t.FinalLearningRateFraction,
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
}
