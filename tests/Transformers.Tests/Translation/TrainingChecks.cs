using System.Text.Json;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Tests.Translation;

/// <summary>The bit-identical resume check, for any translator: n steps straight vs n/2 steps, a reload, n/2 more.</summary>
internal static class ResumeAssert
{
    /// <param name="build">A fresh model (called after torch.manual_seed(11), twice).</param>
    /// <param name="options">Trainer options for a given MaxSteps.</param>
    /// <param name="inspectResumed">Extra checks on the resumed model, once it equals the straight one.</param>
    public static void ContinuesBitIdentically(Func<Seq2SeqModel> build, ITrainingData data, Func<long, TrainerOptions> options, int n,
                                               Action<Seq2SeqModel>? inspectResumed = null)
    {
        string Run() => Path.Combine(Path.GetTempPath(), "resume-" + Guid.NewGuid().ToString("N"));
        var (runA, runB) = (Run(), Run());
        try
        {
            // Straight: n steps.
            manual_seed(11);
            using var straight = build();
            var lossesA = new List<double>();
            new Trainer(straight, data, ReverseTask.Vocabulary, options(n), runA) { OnStep = (r, _) => lossesA.Add(r.Loss) }.Run();

            // n/2 steps, a new process would load the checkpoint, then n/2 more.
            manual_seed(11);
            using (var first = build())
            {
                var lossesB1 = new List<double>();
                var outcome = new Trainer(first, data, ReverseTask.Vocabulary, options(n / 2), runB) { OnStep = (r, _) => lossesB1.Add(r.Loss) }.Run();
                Assert.Equal(TrainingOutcome.StepLimit, outcome);
                Assert.Equal(lossesA.Take(n / 2), lossesB1);
            }
            manual_seed(999);                                // the resumed run must not depend on the process's RNG
            var checkpoint = Checkpoint.Load(Path.Combine(runB, "last"), withTrainerState: true);
            using var resumed = checkpoint.Model;
            var lossesB2 = new List<double>();
            var trainer = new Trainer(resumed, data, checkpoint.Vocabulary, options(n), runB) { OnStep = (r, _) => lossesB2.Add(r.Loss) };
            trainer.Resume(checkpoint);
            trainer.Run();
            Assert.Equal(lossesA.Skip(n / 2), lossesB2);     // exact, not approximate
            var a = straight.state_dict();
            foreach (var (name, t) in resumed.state_dict())
                Assert.True(t.equal(a[name]).all().item<bool>(), $"{name} differs after resume");
            inspectResumed?.Invoke(resumed);
        }
        finally
        {
            foreach (var d in new[] { runA, runB }) if (Directory.Exists(d)) Directory.Delete(d, true);
        }
    }
}

/// <summary>What a training run on the <see cref="ReverseTask"/> achieved.</summary>
/// <param name="FirstDevLoss">Dev loss at the first evaluation.</param>
/// <param name="LastDevLoss">Dev loss at the last evaluation.</param>
/// <param name="Correct">Sentences of the first dev batch (8) translated exactly.</param>
/// <param name="LogLines">Lines of train.jsonl (one per step and per evaluation).</param>
/// <param name="HasBest">Whether the run wrote a best/ checkpoint.</param>
internal sealed record ReverseTaskResult(double FirstDevLoss, double LastDevLoss, int Correct, int LogLines, bool HasBest);

internal static class ReverseTaskTraining
{
    /// <summary>Trains <paramref name="model"/> on <paramref name="data"/> in a temporary run directory, then translates the first dev batch.</summary>
    public static ReverseTaskResult Run(Seq2SeqModel model, ReverseTask data, TrainerOptions options, DecodingOptions decoding)
    {
        var run = Path.Combine(Path.GetTempPath(), "reverse-" + Guid.NewGuid().ToString("N"));
        try
        {
            new Trainer(model, data, ReverseTask.Vocabulary, options, run).Run();
            var lines = File.ReadAllLines(Path.Combine(run, "train.jsonl"));
            var evals = lines.Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.GetProperty("type").GetString() == "eval").ToList();
            var batch = data.Dev[0].ToTensors(model.Special);
            var output = Decoder.Translate(model, batch.Source, batch.SourceMask, decoding);
            int correct = output.Select((h, i) => h[0].Tokens.SequenceEqual(data.Dev[0].Targets[i]) ? 1 : 0).Sum();
            return new ReverseTaskResult(evals[0].GetProperty("DevLoss").GetDouble(), evals[^1].GetProperty("DevLoss").GetDouble(),
                                         correct, lines.Length, Directory.Exists(Path.Combine(run, "best")));
        }
        finally
        {
            if (Directory.Exists(run)) Directory.Delete(run, true);
        }
    }
}
