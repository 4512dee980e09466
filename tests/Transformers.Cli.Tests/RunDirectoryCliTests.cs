using System.Diagnostics;
using Transformers.Training;

namespace Transformers.Cli.Tests;

/// <summary>
/// `train` on a run directory that is in use, resumed with other settings, already finished, or damaged; inference that
/// needs no trainer state. The fixture's run was trained by `train --preset tiny --max-steps 1` (see <see cref="CliFiles"/>).
/// </summary>
[Collection(CliCollection.Name)]
public sealed class RunDirectoryCliTests(CliFiles files)
{
    /// <summary>The options the fixture's run was started with (a resume must give the same model and data settings).</summary>
    private string[] Train(string run, int maxSteps = 1) =>
        ["train", "--data", files.PathOf("corpus.tsv"), "--out", run, "--preset", "tiny", "--max-steps", $"{maxSteps}", "--vocab-size", "100", "--threads", "1", "--dev-bleu-sentences", "4"];

    /// <summary>A copy of the fixture's run, to change.</summary>
    private string CopyOfRun()
    {
        var copy = files.PathOf("run-copy-" + Guid.NewGuid().ToString("N")[..8]);
        foreach (var file in Directory.GetFiles(files.PathOf("run"), "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(files.PathOf("run"), file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return copy;
    }

    [Fact]
    public void ASecondTrainer_IsRefusedAtOnce_NamingTheProcessThatHoldsTheRun()
    {
        var run = CopyOfRun();
        using (RunDirectory.Open(run))
        {
            var clock = Stopwatch.StartNew();
            var result = Cli.Run(Train(run, maxSteps: 2));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"refused after {clock.Elapsed}");
            Assert.True(result.ExitCode == 1, result.ToString());
            Assert.True(result.Err.Contains($"error: {run} is in use by process {Environment.ProcessId}"), result.ToString());
        }
    }

    [Fact]
    public void AResumeWithOtherModelOrDataSettings_IsRefused_ListingEachDifference()
    {
        var run = CopyOfRun();
        var log = File.ReadAllText(Path.Combine(run, "train.jsonl"));
        var result = Cli.Run(["train", "--data", files.PathOf("corpus.tsv"), "--out", run, "--preset", "small", "--max-steps", "2", "--vocab-size", "200", "--threads", "1"]);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.True(result.Err.Contains("was started with other settings, which a resume cannot change (--preset tiny -> small; --vocab-size 100 -> 200)"), result.ToString());
        Assert.Equal(log, File.ReadAllText(Path.Combine(run, "train.jsonl")));
    }

    [Fact]
    public void AFinishedRun_SaysSo_AndTrainsNothing_WhileALargerBudgetResumesIt()
    {
        var run = CopyOfRun();
        var log = File.ReadAllText(Path.Combine(run, "train.jsonl"));
        var finished = Cli.Run(Train(run));
        Assert.True(finished.ExitCode == 0, finished.ToString());
        Assert.True(finished.Err.Contains($"{run} is finished: it has trained 1 of 1 steps"), finished.ToString());
        Assert.Equal(log, File.ReadAllText(Path.Combine(run, "train.jsonl")));

        var resumed = Cli.Run(Train(run, maxSteps: 2));
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.True(resumed.Err.Contains("note: changed on resume: --max-steps 1 -> 2"), resumed.ToString());
        Assert.True(resumed.Err.Contains($"resuming {Path.Combine(run, "last")} at step 1"), resumed.ToString());
    }

    [Fact]
    public void AResumeFromADamagedOptimizerState_NamesTheFile()
    {
        var run = CopyOfRun();
        var optimizer = Path.Combine(run, "last", "optimizer.bin");
        File.WriteAllBytes(optimizer, File.ReadAllBytes(optimizer)[..64]);
        var result = Cli.Run(Train(run, maxSteps: 2));
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.True(result.Err.Contains($"error: {optimizer} has 64 bytes where manifest.json says"), result.ToString());
    }

    [Fact]
    public void ACheckpointCopiedOutOfItsRun_TranslatesOnItsOwn_WithTheRunsSpacing()
    {
        var alone = files.PathOf("alone-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(alone);
        foreach (var file in Directory.GetFiles(files.PathOf("run/best")))
            File.Copy(file, Path.Combine(alone, Path.GetFileName(file)));
        Assert.True(File.Exists(Path.Combine(alone, "spacing.tsv")));
        var inRun = Cli.Run(["translate", "--model", files.PathOf("run/best"), "--beam", "1", "le chat , la maison ."]);
        var copied = Cli.Run(["translate", "--model", alone, "--beam", "1", "le chat , la maison ."]);
        Assert.True(copied.ExitCode == 0, copied.ToString());
        Assert.Equal(inRun.Out, copied.Out);
    }

    [Fact]
    public void Translate_ReadsNoTrainerState_SoADamagedOneDoesNotStopIt()
    {
        var run = CopyOfRun();
        File.WriteAllText(Path.Combine(run, "best", "trainer_state.json"), "{ damaged");
        var result = Cli.Run(["translate", "--model", run, "--beam", "1", "le chat"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Single(result.OutLines);
    }
}
