using System.Diagnostics;
using System.Text.Json;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Translation;

/// <summary>
/// Run directories that no kill can break: a kill at every step of every kind of checkpoint save, then the recovery and a
/// resume that must equal the uninterrupted run bit for bit; the run lock; the log cut back on resume; the settings a
/// resume may not change; the manifest. Serial: the runs draw from libtorch's global generator.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class RunDirectoryTests
{
    private const int Steps = 6;
    private static readonly ReverseTask Data = new(64, seed: 21);

    private static TransformerTranslator Build()
    {
        manual_seed(11);
        return new TransformerTranslator(TransformerConfig.Tiny(ReverseTask.Vocab) with { Dropout = 0.1 });
    }

    /// <summary>An evaluation (and so saves of last/, best/ when dev BLEU improves, history/step-N) after every step.</summary>
    private static TrainerOptions Options => TrainerTests.Options(Steps) with { EvalEverySteps = 1, AverageLastK = 2, AccumulationSteps = 1 };

    private static string TempRun() => Path.Combine(Path.GetTempPath(), "rundir-" + Guid.NewGuid().ToString("N"));

    /// <summary>Runs <paramref name="body"/> on a fresh run directory, removed afterwards.</summary>
    private static void InTempRun(Action<string> body)
    {
        var run = TempRun();
        try { body(run); }
        finally { if (Directory.Exists(run)) Directory.Delete(run, true); }
    }

    /// <summary>Dev "BLEU" that improves at steps 1, 2 and 4 only, so that best/ is saved at some evaluations and not at others.</summary>
    private static Func<Seq2SeqModel, double> DevScore(Func<long> step) => _ => step() switch { 1 => 1, 2 => 2, 4 => 4, _ => 0 };

    private static Dictionary<string, Tensor> Weights(string dir)
    {
        var loaded = Checkpoint.Load(dir);
        var copy = loaded.Model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        loaded.Model.Dispose();
        return copy;
    }

    private static void AssertSameWeights(Dictionary<string, Tensor> expected, Dictionary<string, Tensor> actual, string what)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, t) in expected)
            Assert.True(t.equal(actual[name]).all().item<bool>(), $"{what}: {name} differs");
    }

    /// <summary>Trains to <see cref="Steps"/> in <paramref name="run"/>, resuming from last/ if there is one (as `train` does).</summary>
    private static TrainingOutcome TrainOrResume(string run)
    {
        using var dir = RunDirectory.Open(run);
        Checkpoint.Loaded? resume = dir.CanResume ? Checkpoint.Load(dir.LastDir, withTrainerState: true) : null;
        using var model = resume?.Model ?? Build();
        Trainer? trainer = null;
        trainer = new Trainer(model, Data, ReverseTask.Vocabulary, Options, run) { DevBleu = DevScore(() => trainer!.State.Step) };
        if (resume is not null) trainer.Resume(resume);
        return trainer.Run();
    }

    public static TheoryData<string, string, int> KillPoints()
    {
        var points = new TheoryData<string, string, int>();
        foreach (var step in AtomicDirectory.Steps)
        {
            points.Add("last", step, 1);          // the first save of last/: the starting point, before step 1
            points.Add("last", step, 4);          // the fourth save of last/ (step 3)
            points.Add("best", step, 1);          // the first save of best/ (step 1, before the first last/ after a step)
            points.Add("best", step, 2);          // the second save of best/ (step 2)
            points.Add("step-00000004", step, 1); // history/step-00000004
        }
        return points;
    }

    [Theory]
    [MemberData(nameof(KillPoints))]
    public void AKillAtAnyStepOfASave_ResumesFromTheLastCompleteCheckpoint_AndEndsAsTheUninterruptedRun(string save, string step, int occurrence)
    {
        var (straight, killed) = (TempRun(), TempRun());
        try
        {
            Assert.Equal(TrainingOutcome.StepLimit, TrainOrResume(straight));

            int seen = 0;
            AtomicDirectory.AtStep = (at, dir) =>
            {
                if (at == step && Path.GetFileName(dir) == save && ++seen == occurrence) throw new AtomicDirectory.SimulatedKill(at);
            };
            try
            {
                Assert.Throws<AtomicDirectory.SimulatedKill>(() => TrainOrResume(killed));
            }
            finally
            {
                AtomicDirectory.AtStep = null;
            }
            Assert.Equal(occurrence, seen);

            // What the kill left: never a missing last/ or best/ once recovered; no leftovers.
            bool left = Directory.GetDirectories(killed, "*", SearchOption.AllDirectories)
                .Any(d => d.EndsWith(".old", StringComparison.Ordinal) || d.EndsWith(".tmp", StringComparison.Ordinal));
            using (var dir = RunDirectory.Open(killed))
            {
                Assert.Equal(left, dir.Repairs.Count > 0);
                var leftovers = Directory.GetDirectories(killed, "*", SearchOption.AllDirectories)
                    .Where(d => d.EndsWith(".old", StringComparison.Ordinal) || d.EndsWith(".tmp", StringComparison.Ordinal)).ToList();
                Assert.Empty(leftovers);
                Assert.True(Checkpoint.IsComplete(dir.LastDir), "last/ is complete");
                var best = Path.Combine(killed, "best");
                Assert.True(!Directory.Exists(best) || Checkpoint.IsComplete(best), "best/ is complete (or not saved yet)");
            }

            Assert.Equal(TrainingOutcome.StepLimit, TrainOrResume(killed));
            foreach (var name in new[] { "last", "best", "averaged" })
                AssertSameWeights(Weights(Path.Combine(straight, name)), Weights(Path.Combine(killed, name)), $"{name}/ after a kill at '{step}' of {save}/");
            Assert.Equal(Checkpoint.ReadState(Path.Combine(straight, "best"))!.Step, Checkpoint.ReadState(Path.Combine(killed, "best"))!.Step);
            AssertHonestLog(killed, Steps);
        }
        finally
        {
            foreach (var d in new[] { straight, killed }) if (Directory.Exists(d)) Directory.Delete(d, true);
        }
    }

    /// <summary>Every line is JSON; steps 1..n appear once each, in order; one evaluation per step.</summary>
    private static void AssertHonestLog(string run, int n)
    {
        var records = File.ReadAllLines(Path.Combine(run, "train.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var steps = records.Where(r => r.GetProperty("type").GetString() == "step").Select(r => r.GetProperty("Step").GetInt64()).ToList();
        var evals = records.Where(r => r.GetProperty("type").GetString() == "eval").Select(r => r.GetProperty("Step").GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(1, n).Select(i => (long)i), steps);
        Assert.Equal(Enumerable.Range(1, n).Select(i => (long)i), evals);
    }

    [Fact]
    public void ResumeAfterAKillBetweenCheckpoints_CutsTheLogBack_AndAFreshRunStartsANewOne()
    {
        InTempRun(run =>
        {
            var log = Path.Combine(run, "train.jsonl");
            Directory.CreateDirectory(run);
            File.WriteAllText(log, "{\"type\":\"step\",\"Step\":1,\"note\":\"an earlier run without a checkpoint\"}\n");
            var options = Options with { MaxSteps = 3 };
            using (var model = Build())
                new Trainer(model, Data, ReverseTask.Vocabulary, options with { EvalEverySteps = 2 }, run).Run();   // evaluations at 2 and 3
            Assert.DoesNotContain("an earlier run", File.ReadAllText(log));
            // A kill after step 3's checkpoint but during step 5: steps 4 and 5 logged, the last line cut in half.
            File.AppendAllText(log, "{\"type\":\"step\",\"Step\":4}\n{\"type\":\"step\",\"Step\":5}\n{\"type\":\"step\",\"St");
            var resume = Checkpoint.Load(Path.Combine(run, "last"), withTrainerState: true);
            using var resumed = resume.Model;
            var trainer = new Trainer(resumed, Data, ReverseTask.Vocabulary, options with { MaxSteps = 5, EvalEverySteps = 1 }, run);
            trainer.Resume(resume);
            trainer.Run();
            var records = File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            var steps = records.Where(r => r.GetProperty("type").GetString() == "step").Select(r => r.GetProperty("Step").GetInt64());
            Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, steps);
            var evals = records.Where(r => r.GetProperty("type").GetString() == "eval").Select(r => r.GetProperty("Step").GetInt64());
            Assert.Equal(new long[] { 2, 3, 4, 5 }, evals);
        });
    }

    [Fact]
    public void AFinishedRun_SaysSo_AndTrainsNoFurtherStep()
    {
        InTempRun(run =>
        {
            using (var model = Build())
                new Trainer(model, Data, ReverseTask.Vocabulary, Options with { MaxSteps = 2 }, run).Run();
            var lines = File.ReadAllLines(Path.Combine(run, "train.jsonl"));
            var resume = Checkpoint.Load(Path.Combine(run, "last"), withTrainerState: true);
            using var resumed = resume.Model;
            var trainer = new Trainer(resumed, Data, ReverseTask.Vocabulary, Options with { MaxSteps = 2 }, run);
            trainer.Resume(resume);
            Assert.Equal("it has trained 2 of 2 steps", trainer.Finished());
            Assert.Equal(TrainingOutcome.AlreadyFinished, trainer.Run());
            Assert.Equal(2, trainer.State.Step);
            Assert.Equal(lines, File.ReadAllLines(Path.Combine(run, "train.jsonl")));
            Assert.Null(Trainer.Finished(Options with { MaxSteps = 3 }, trainer.State));
            Assert.Equal("it has trained 00:00:05 of a 00:00:05 budget", Trainer.Finished(Options with { MaxSteps = 0, MaxSeconds = 5 }, trainer.State with { ElapsedSeconds = 5 }));
        });
    }

    [Fact]
    public void ASecondHolder_IsRefusedAtOnce_NamingTheProcess_AndTheLockDiesWithItsHolder()
    {
        InTempRun(run =>
        {
            using (var first = RunDirectory.Open(run))
            {
                var clock = Stopwatch.StartNew();
                var e = Assert.Throws<RunInUseException>(() => RunDirectory.Open(run));
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"refused after {clock.Elapsed}");
                Assert.Contains($"{run} is in use by process {Environment.ProcessId}", e.Message);
            }
            using (RunDirectory.Open(run)) { }                                    // released by Dispose

            // Another process holds the lock (util-linux flock takes the same flock(2) lock; --close: its child `sleep` does not), then is killed -9.
            using var holder = Process.Start(new ProcessStartInfo("flock", ["--exclusive", "--close", Path.Combine(run, RunDirectory.LockFile), "sleep", "60"]) { RedirectStandardError = true })!;
            try
            {
                var deadline = Stopwatch.StartNew();
                RunInUseException? refused = null;
                while (refused is null && deadline.Elapsed < TimeSpan.FromSeconds(10))
                {
                    try { using (RunDirectory.Open(run)) Thread.Sleep(20); }
                    catch (RunInUseException e) { refused = e; }
                }
                Assert.NotNull(refused);
                Assert.Contains($"{run} is in use by", refused.Message);
            }
            finally
            {
                holder.Kill(entireProcessTree: true);                             // SIGKILL: no chance to unlock
                holder.WaitForExit();
            }
            using (RunDirectory.Open(run)) { }                                    // no stale lock
        });
    }

    [Fact]
    public void EveryCheckpoint_CarriesTheRunsFiles_SoACopyWorksOnItsOwn()
    {
        InTempRun(run =>
        {
            Directory.CreateDirectory(run);
            var spacing = Path.Combine(run, SpacingModel.FileName);
            File.WriteAllText(spacing, "# left\tright\tglued\ttotal\n");
            using (var model = Build())
                new Trainer(model, Data, ReverseTask.Vocabulary, Options with { MaxSteps = 2 }, run) { CheckpointFiles = [spacing] }.Run();
            foreach (var checkpoint in new[] { "last", "best", "averaged", Path.Combine("history", "step-00000002") })
            {
                var copied = Path.Combine(run, checkpoint, SpacingModel.FileName);
                Assert.Equal(File.ReadAllText(spacing), File.ReadAllText(copied));
                Assert.True(Checkpoint.IsComplete(Path.Combine(run, checkpoint)), $"{checkpoint}/ is complete (its manifest lists {SpacingModel.FileName})");
            }
        });
    }

    [Fact]
    public void AFreshStart_IsRefused_WhereAnEarlierRunLeftCheckpointsButNoLast()
    {
        InTempRun(run =>
        {
            using (var model = Build())
                new Trainer(model, Data, ReverseTask.Vocabulary, Options with { MaxSteps = 1 }, run).Run();
            Directory.Delete(Path.Combine(run, "last"), true);
            using var dir = RunDirectory.Open(run);
            Assert.False(dir.CanResume);
            var e = Assert.Throws<IOException>(dir.CheckFreshStart);
            Assert.Contains("holds checkpoints of an earlier run (best/, history/) but no last/", e.Message);
        });
    }

    [Fact]
    public void Settings_ThatShapeTheModelOrData_CannotChangeOnResume_OthersAreReported()
    {
        InTempRun(run =>
        {
            RunSettings Settings(string preset, string vocab, string minutes, string lr) =>
                new(new Dictionary<string, string> { ["--preset"] = preset, ["--vocab-size"] = vocab }, new Dictionary<string, string> { ["--minutes"] = minutes, ["--lr"] = lr });
            using var dir = RunDirectory.Open(run);
            Assert.Empty(dir.CheckAndSaveSettings(Settings("tiny", "8000", "5", "0.001")));
            Assert.Equal(new[] { "--minutes 5 -> 30" }, dir.CheckAndSaveSettings(Settings("tiny", "8000", "30", "0.001")));
            var e = Assert.Throws<ArgumentException>(() => dir.CheckAndSaveSettings(Settings("small", "16000", "30", "0.001")));
            Assert.Contains("--preset tiny -> small; --vocab-size 8000 -> 16000", e.Message);
            Assert.Equal(Settings("tiny", "8000", "30", "0.001").Fixed, dir.ReadSettings()!.Fixed);    // the refused settings were not saved
        });
    }

    [Fact]
    public void TheManifest_NamesAFileWithFlippedBytes_AndInferenceNeedsNoTrainerState()
    {
        InTempRun(run =>
        {
            using (var model = Build())
                new Trainer(model, Data, ReverseTask.Vocabulary, Options with { MaxSteps = 1 }, run).Run();
            var last = Path.Combine(run, "last");
            Assert.True(Checkpoint.IsComplete(last));

            // A damaged trainer state stops a resume, naming the file, but not inference.
            var state = Path.Combine(last, "trainer_state.json");
            var stateText = File.ReadAllText(state);
            File.WriteAllText(state, "{ damaged");
            Checkpoint.Load(last).Model.Dispose();
            Assert.Contains("trainer_state.json", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(last, withTrainerState: true)).Message);
            File.WriteAllText(state, stateText);

            // One flipped byte inside the weights (same size): named by the manifest.
            var weights = Path.Combine(last, "model.safetensors");
            var bytes = File.ReadAllBytes(weights);
            bytes[^5] ^= 0x40;
            File.WriteAllBytes(weights, bytes);
            var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(last));
            Assert.Contains($"{weights} does not match its SHA-256 in manifest.json", e.Message);
            Assert.False(Checkpoint.IsComplete(last));
            // Truncated: the size says it.
            File.WriteAllBytes(weights, bytes[..100]);
            Assert.Contains("has 100 bytes where manifest.json says", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(last)).Message);

            // A format version this build does not know.
            var best = Path.Combine(run, "best");
            File.Delete(Path.Combine(best, CheckpointManifest.FileName));
            var json = Path.Combine(best, "model.json");
            File.WriteAllText(json, File.ReadAllText(json).Replace("\"FormatVersion\": 1", "\"FormatVersion\": 99"));
            Assert.Contains("format version 99; this build reads version 1", Assert.Throws<InvalidDataException>(() => Checkpoint.Load(best)).Message);
        });
    }
}
