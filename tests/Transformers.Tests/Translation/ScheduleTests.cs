using System.Text.Json;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Translation;

/// <summary>The learning rate at given points of a budget (values worked out by hand from the schedule's definition).</summary>
public sealed class LearningRateScheduleTests
{
    private static LearningRateSchedule Linear => new() { PeakLearningRate = 1e-3, Decay = LearningRateDecay.Linear, WarmupFraction = 0.1 };

    [Theory]
    [InlineData(0.00, 0.0)]        // start of warmup
    [InlineData(0.05, 0.5e-3)]     // half-way through a warmup of 10 % of the budget
    [InlineData(0.10, 1e-3)]       // the peak at the end of warmup
    [InlineData(0.55, 0.5e-3)]     // half-way from the end of warmup (0.1) to the end of the budget (1.0)
    [InlineData(1.00, 0.0)]        // linear to zero
    public void Linear_WarmsUpOverAShareOfTheBudget_ThenFallsToZero(double progress, double expected) =>
        Assert.Equal(expected, Linear.At(step: 123, progress), 12);

    /// <summary>The recipes' schedules as the CLI gets them: the demo holds its peak after a 30 % warmup, the Transformer recipe decays to 0.</summary>
    [Theory]
    [InlineData(0.075, 0.25e-3, 1e-3)]                               // a quarter of the demo's warmup; half of the transformer's
    [InlineData(0.15, 0.5e-3, 2e-3)]                                 // demo half-way through its warmup; transformer at its peak
    [InlineData(0.30, 1e-3, 2e-3 * (1 - (0.30 - 0.15) / 0.85))]      // demo at its peak; transformer decaying
    [InlineData(1.00, 1e-3, 0.0)]
    public void Recipes_Demo_HoldsThePeakAfterItsWarmup_WhereTheTransformerRecipeDecaysToZero(double progress, double demo, double transformer)
    {
        Assert.Equal(demo, TranslationRecipe.Demo().Trainer.Schedule.At(step: 500, progress), 12);
        Assert.Equal(transformer, TranslationRecipe.For(TranslatorArchitecture.Transformer, ModelPreset.Small).Trainer.Schedule.At(step: 500, progress), 12);
    }

    /// <summary>
    /// The recurrent recipes: the small GRU warms up over 5 % to 2e-3 and decays to 0; the small LSTM holds 2e-3 after a 2 %
    /// warmup; the RNN and the matched GRU and LSTM hold 1e-3 after 2 %.
    /// </summary>
    [Theory]
    [InlineData(0.01, 0.4e-3, 1e-3, 0.5e-3)]                        // a fifth of the GRU's warmup; half of the constant recipes'
    [InlineData(0.05, 2e-3, 2e-3, 1e-3)]                            // the GRU at its peak
    [InlineData(0.525, 1e-3, 2e-3, 1e-3)]                           // the GRU half-way from the end of its warmup to the end
    [InlineData(1.00, 0.0, 2e-3, 1e-3)]
    public void Recipes_TheSmallGruDecaysToZero_TheOtherRecurrentRecipesHoldTheirRate(double progress, double smallGru, double smallLstm, double constant)
    {
        Assert.Equal(smallGru, TranslationRecipe.For(TranslatorArchitecture.Gru, ModelPreset.Small).Trainer.Schedule.At(step: 500, progress), 12);
        Assert.Equal(smallLstm, TranslationRecipe.For(TranslatorArchitecture.Lstm, ModelPreset.Small).Trainer.Schedule.At(step: 500, progress), 12);
        foreach (var (architecture, preset) in new[] { (TranslatorArchitecture.Rnn, ModelPreset.Small), (TranslatorArchitecture.Gru, ModelPreset.Matched), (TranslatorArchitecture.Lstm, ModelPreset.Matched) })
            Assert.Equal(constant, TranslationRecipe.For(architecture, preset).Trainer.Schedule.At(step: 500, progress), 12);
    }

    [Fact]
    public void Linear_EndsAtTheFinalFraction()
    {
        var s = Linear with { FinalFraction = 0.1 };
        Assert.Equal(1e-4, s.At(1, 1.0), 12);
        Assert.Equal(1e-3 * (0.1 + 0.9 * 0.5), s.At(1, 0.55), 12);
    }

    [Fact]
    public void Cosine_IsHalfwayAtTheMiddleOfTheDecay_AndFlatAtBothEnds()
    {
        var s = Linear with { Decay = LearningRateDecay.Cosine };
        Assert.Equal(0.5e-3, s.At(1, 0.55), 12);
        Assert.Equal(1e-3 * 0.5 * (1 + Math.Cos(Math.PI * 0.25)), s.At(1, 0.1 + 0.9 * 0.25), 12);
        Assert.Equal(0.0, s.At(1, 1.0), 12);
    }

    [Fact]
    public void WarmupInSteps_RampsByStep_AndLinearDecayFollowsTheBudget()
    {
        var s = Linear with { WarmupSteps = 10 };
        Assert.Equal(1e-3 * 5 / 10 * (1 - 0.02), s.At(5, 0.02), 12);   // warmup factor 5/10 times the decay at 2 %
        Assert.Equal(1e-3 * 0.5, s.At(1000, 0.5), 12);                // after warmup: linear over the whole budget
    }

    [Fact]
    public void InverseSqrt_WithStepWarmup_HalvesAtFourTimesTheWarmup_AndNeedsNoBudget()
    {
        var s = new LearningRateSchedule { PeakLearningRate = 1e-3, Decay = LearningRateDecay.InverseSqrt, WarmupSteps = 100, WarmupFraction = 0 };
        Assert.Equal(0.5e-3, s.At(50, null), 12);
        Assert.Equal(1e-3, s.At(100, null), 12);
        Assert.Equal(0.5e-3, s.At(400, null), 12);
        Assert.False(s.NeedsBudget);
    }

    [Fact]
    public void InverseSqrt_WithFractionalWarmup_DecaysInProgress()
    {
        var s = new LearningRateSchedule { PeakLearningRate = 1e-3, Decay = LearningRateDecay.InverseSqrt, WarmupFraction = 0.1 };
        Assert.Equal(1e-3, s.At(7, 0.1), 12);
        Assert.Equal(0.5e-3, s.At(7, 0.4), 12);
    }

    [Fact]
    public void Constant_IsThePeakAfterWarmup()
    {
        var s = new LearningRateSchedule { PeakLearningRate = 2e-3, Decay = LearningRateDecay.Constant, WarmupFraction = 0.02 };
        Assert.Equal(1e-3, s.At(1, 0.01), 12);
        Assert.Equal(2e-3, s.At(1, 0.5), 12);
        Assert.Equal(2e-3, s.At(1, 1.0), 12);
        Assert.Equal(2e-3, (s with { WarmupFraction = 0 }).At(1, null), 12);
    }

    [Fact]
    public void Budget_ProgressIsTheLargestShareOfAnySetLimit()
    {
        Assert.Null(new TrainingBudget(0, 0, 0).Progress(10, 10, 1));
        Assert.Equal(0.25, new TrainingBudget(100, 0, 0).Progress(25, 999, 9)!.Value, 12);
        Assert.Equal(0.5, new TrainingBudget(100, 60, 0).Progress(25, 30, 0)!.Value, 12);
        Assert.Equal(0.75, new TrainingBudget(0, 0, 4).Progress(1, 1, 3.0)!.Value, 12);
        Assert.Equal(1.0, new TrainingBudget(10, 0, 0).Progress(20, 0, 0)!.Value, 12);
    }

    [Fact]
    public void BadSchedules_AreRejectedWithTheirValue()
    {
        Assert.Contains("learning rate NaN", Assert.Throws<ArgumentException>(() => new TrainerOptions { LearningRate = double.NaN }.Validate()).Message);
        Assert.Contains("warmup -1 steps", Assert.Throws<ArgumentException>(() => new TrainerOptions { WarmupSteps = -1, MaxSteps = 5 }.Validate()).Message);
        Assert.Contains("warmup fraction 1", Assert.Throws<ArgumentException>(() => new TrainerOptions { WarmupFraction = 1, MaxSteps = 5 }.Validate()).Message);
        Assert.Contains("defined over the budget", Assert.Throws<ArgumentException>(() => new TrainerOptions { MaxEpochs = 0 }.Validate()).Message);
        Assert.Contains("budget limits must be >= 0", Assert.Throws<ArgumentException>(() => new TrainerOptions { MaxSteps = -5 }.Validate()).Message);
    }
}

/// <summary>The trainer follows the schedule over its budget, on a tiny model.</summary>
[Collection(SerialCollection.Name)]
public sealed class TrainerScheduleTests
{
    /// <summary>Runs <paramref name="body"/> with a fresh run directory, deleted afterwards.</summary>
    private static void InTempRun(Action<string> body)
    {
        var run = Path.Combine(Path.GetTempPath(), "schedule-" + Guid.NewGuid().ToString("N"));
        try { body(run); }
        finally { if (Directory.Exists(run)) Directory.Delete(run, true); }
    }

    private static List<JsonElement> Steps(string run) =>
        File.ReadAllLines(Path.Combine(run, "train.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("type").GetString() == "step").ToList();

    private static TrainerOptions Budget40 => new()
    {
        LearningRate = 1e-3, Decay = LearningRateDecay.Linear, WarmupFraction = 0.1, MaxSteps = 40, MaxEpochs = 0, EvalEverySteps = 0, Patience = 0,
    };

    [Fact]
    public void LearningRate_AtGivenStepsOfAStepBudget()
    {
        InTempRun(run =>
        {
            manual_seed(1);
            using var m = new TransformerTranslator(TransformerConfig.Tiny(ReverseTask.Vocab));
            new Trainer(m, new ReverseTask(64, seed: 3), ReverseTask.Vocabulary, Budget40, run).Run();
            var lr = Steps(run).ToDictionary(e => e.GetProperty("Step").GetInt64(), e => e.GetProperty("LearningRate").GetDouble());
            Assert.Equal(40, lr.Count);
            // Step s is taken at progress (s - 1) / 40; warmup over the first 4 steps' worth, then linear to 0.
            Assert.Equal(0.0, lr[1], 12);
            Assert.Equal(1e-3 * 0.5, lr[3], 12);           // progress 0.05
            Assert.Equal(1e-3, lr[5], 12);                 // progress 0.10: the peak
            Assert.Equal(1e-3 * (1 - (0.5 - 0.1) / 0.9), lr[21], 12);
            Assert.Equal(1e-3 * (1 - (39.0 / 40 - 0.1) / 0.9), lr[40], 12);
        });
    }

    [Fact]
    public void AWarmupLongerThanTheBudget_IsShortened_WithANotice()
    {
        InTempRun(run =>
        {
            manual_seed(1);
            using var m = new TransformerTranslator(TransformerConfig.Tiny(ReverseTask.Vocab));
            var notices = new List<string>();
            var trainer = new Trainer(m, new ReverseTask(64, seed: 3), ReverseTask.Vocabulary, Budget40 with { WarmupSteps = 1000, WarmupFraction = 0 }, run)
            {
                OnNotice = notices.Add,
            };
            trainer.Run();
            var notice = Assert.Single(notices);
            Assert.Contains("warmup of 1000 steps is longer than half of the 40 steps the budget allows", notice);
            Assert.Contains("first 5 % of the budget", notice);
            Assert.True(trainer.State.WarmupShortened);
            var lr = Steps(run).ToDictionary(e => e.GetProperty("Step").GetInt64(), e => e.GetProperty("LearningRate").GetDouble());
            Assert.Equal(1e-3, lr[3], 12);                  // progress 0.05: the end of the shortened warmup
        });
    }

    [Fact]
    public void ATimeBudget_SetsEachStepsRate_FromTheTrainingTimeBeforeIt()
    {
        InTempRun(run =>
        {
            manual_seed(1);
            using var m = new TransformerTranslator(TransformerConfig.Tiny(ReverseTask.Vocab));
            // A one-second budget of tiny steps: progress is the training time alone.
            var options = Budget40 with { MaxSteps = 0, MaxSeconds = 1.0, MaxEpochs = 0 };
            new Trainer(m, new ReverseTask(64, seed: 3), ReverseTask.Vocabulary, options, run).Run();
            var steps = Steps(run);
            var schedule = options.Schedule;
            Assert.True(steps.Count > 20, $"{steps.Count} steps in the budget");
            for (int i = 1; i < steps.Count; i++)
            {
                double before = steps[i - 1].GetProperty("ElapsedSeconds").GetDouble();
                Assert.Equal(schedule.At(i + 1, before / 1.0), steps[i].GetProperty("LearningRate").GetDouble(), 12);
            }
            Assert.True(steps[^1].GetProperty("LearningRate").GetDouble() < 0.2e-3, "the rate decays over the time budget");
        });
    }

    [Fact]
    public void Evaluations_AreOffTheTrainingClock()
    {
        InTempRun(run =>
        {
            manual_seed(1);
            using var m = new TransformerTranslator(TransformerConfig.Tiny(ReverseTask.Vocab));
            var trainer = new Trainer(m, new ReverseTask(32, seed: 3), ReverseTask.Vocabulary, Budget40 with { MaxSteps = 4, EvalEverySteps = 1 }, run)
            {
                DevBleu = _ => { Thread.Sleep(500); return 1.0; },
            };
            var clock = System.Diagnostics.Stopwatch.StartNew();
            trainer.Run();
            Assert.True(clock.Elapsed.TotalSeconds >= 2.0);                        // four evaluations of 0.5 s ran...
            Assert.True(trainer.State.ElapsedSeconds < 1.5, $"training clock {trainer.State.ElapsedSeconds:F2} s");   // ...but not on the clock
        });
    }

    [Fact]
    public void Interrupted_AndResumed_UnderABudgetSchedule_IsBitIdentical()
    {
        // Linear decay over a 12-step budget: the interrupted run keeps the budget, so the resumed steps see the same rates.
        var options = Budget40 with { MaxSteps = 12, AccumulationSteps = 2, MaxEpochs = 100 };
        var data = new ReverseTask(128, seed: 1);
        string Run() => Path.Combine(Path.GetTempPath(), "resume-lin-" + Guid.NewGuid().ToString("N"));
        var (runA, runB) = (Run(), Run());
        try
        {
            manual_seed(11);
            using var straight = new TransformerTranslator(TransformerConfig.Tiny(ReverseTask.Vocab) with { Dropout = 0.1 });
            var lossesA = new List<double>();
            new Trainer(straight, data, ReverseTask.Vocabulary, options, runA) { OnStep = (r, _) => lossesA.Add(r.Loss) }.Run();

            manual_seed(11);
            using var cts = new CancellationTokenSource();
            var lossesB = new List<double>();
            using (var first = new TransformerTranslator(TransformerConfig.Tiny(ReverseTask.Vocab) with { Dropout = 0.1 }))
            {
                var outcome = new Trainer(first, data, ReverseTask.Vocabulary, options, runB)
                {
                    OnStep = (r, _) => { lossesB.Add(r.Loss); if (r.Step == 5) cts.Cancel(); },
                    Cancellation = cts.Token,
                }.Run();
                Assert.Equal(TrainingOutcome.Interrupted, outcome);
            }
            manual_seed(999);
            var checkpoint = Checkpoint.Load(Path.Combine(runB, "last"), withTrainerState: true);
            using var resumed = checkpoint.Model;
            var trainer = new Trainer(resumed, data, checkpoint.Vocabulary, options, runB) { OnStep = (r, _) => lossesB.Add(r.Loss) };
            trainer.Resume(checkpoint);
            trainer.Run();
            Assert.Equal(lossesA, lossesB);
            var a = straight.state_dict();
            foreach (var (name, t) in resumed.state_dict())
                Assert.True(t.equal(a[name]).all().item<bool>(), $"{name} differs after resume");
        }
        finally
        {
            foreach (var d in new[] { runA, runB }) if (Directory.Exists(d)) Directory.Delete(d, true);
        }
    }
}
