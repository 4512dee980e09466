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
            var checkpoint = Checkpoint.Load(Path.Combine(runB, "last"));
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
