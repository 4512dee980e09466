using TorchSharp;
using Transformers.Data;
using Transformers.Lab.Runner;
using Transformers.Recurrent;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Lab.Experiments;

/// <summary>
/// Issue 5's leak benchmark: the trainer runs 10,000 optimizer steps (with evaluations and checkpoints) of a Transformer
/// and a GRU translator on a synthetic task, and the process's resident memory and libtorch's live tensor count are
/// sampled along the way. A leak of one small tensor per step would show as a line rising with the step.
/// </summary>
public sealed class MemoryFlat : IExperiment
{
    public string Name => "memory-flat";

    public string Claim => "Training leaks nothing: resident memory and the number of live tensors stay flat over 10,000 steps.";

    public sealed record Sample(string Model, long Step, double RssMiB, long LiveTensors);

    public sealed record Growth(string Model, double RssAtWarmMiB, double RssAtEndMiB, double RssSlopeMiBPer1000Steps, long LiveAtWarm, long LiveAtEnd);

    /// <summary>Resident growth per 1,000 steps (least squares after warm-up) below which memory counts as flat.</summary>
    public const double FlatMiBPer1000Steps = 1.0;

    public ExperimentResult Run(LabContext context)
    {
        int steps = context.Quick ? 300 : 10_000, every = context.Quick ? 25 : 250, warm = context.Quick ? 100 : 1_000;
        var data = new CopyTaskData(512, seed: 3);
        var models = new (string Name, Func<Seq2SeqModel> Build)[]
        {
            ("Transformer", () => new TransformerTranslator(TransformerConfig.Tiny(CopyTaskData.Vocab) with { Dropout = 0.1 })),
            ("GRU + Bahdanau", () => new RecurrentTranslator(RecurrentTranslatorConfig.Tiny(CopyTaskData.Vocab, RecurrentCellKind.Gru, RecurrentAttention.Bahdanau) with { Dropout = 0.1 })),
        };
        var samples = new List<Sample>();
        foreach (var (name, build) in models)
        {
            var run = Path.Combine(Path.GetTempPath(), $"lab-memory-{Environment.ProcessId}-{Guid.NewGuid():N}");
            try
            {
                torch.manual_seed(1);
                using var model = build();
                var options = new TrainerOptions { LearningRate = 1e-3, WarmupSteps = 100, MaxSteps = steps, EvalEverySteps = steps / 5, Patience = 0, MaxEpochs = 0 };
                new Trainer(model, data, CopyTaskData.Vocabulary, options, run)
                {
                    OnStep = (r, _) =>
                    {
                        if (r.Step % every != 0) return;
                        GC.Collect();
                        GC.WaitForPendingFinalizers();
                        samples.Add(new Sample(name, r.Step, (PeakMemory.ResidentBytes() ?? double.NaN) / 1048576.0, Tensor.TotalCount));
                    },
                }.Run();
                context.Log($"  {name}: RSS {samples.Where(s => s.Model == name).Select(s => s.RssMiB).First():F0} -> {samples.Last().RssMiB:F0} MiB, live tensors {samples.Last().LiveTensors}");
            }
            finally
            {
                if (Directory.Exists(run)) Directory.Delete(run, recursive: true);
            }
        }

        var growth = models.Select(m =>
        {
            var after = samples.Where(s => s.Model == m.Name && s.Step >= warm).ToList();
            double slope = Stats.Slope(after.Select(s => (double)s.Step).ToArray(), after.Select(s => s.RssMiB).ToArray()) * 1000;
            return new Growth(m.Name, after[0].RssMiB, after[^1].RssMiB, slope, after[0].LiveTensors, after[^1].LiveTensors);
        }).ToList();
        bool flat = growth.All(g => g.RssSlopeMiBPer1000Steps < FlatMiBPer1000Steps && g.LiveAtEnd == g.LiveAtWarm);
        var verdict = flat ? Verdict.Supported : Verdict.NotSupported;
        var text = string.Join("; ", growth.Select(g => $"{g.Model}: RSS {g.RssAtWarmMiB:F0} → {g.RssAtEndMiB:F0} MiB from step {warm} to {steps} ({g.RssSlopeMiBPer1000Steps:+0.00;-0.00} MiB per 1,000 steps), live tensors {g.LiveAtWarm} → {g.LiveAtEnd}"));
        var plots = new List<PlotFile>
        {
            context.Save(new LinePlot($"Resident memory while training ({steps:N0} steps, evaluations and checkpoints every {steps / 5:N0})", "optimizer step", "resident set size (MiB)",
                models.Select(m => new Series(m.Name, samples.Where(s => s.Model == m.Name).Select(s => (double)s.Step).ToArray(), samples.Where(s => s.Model == m.Name).Select(s => s.RssMiB).ToArray())).ToArray()),
                "rss_over_steps.png", "Resident memory against training steps"),
            context.Save(new LinePlot("Live libtorch tensors while training", "optimizer step", "live tensors (TorchSharp handles)",
                models.Select(m => new Series(m.Name, samples.Where(s => s.Model == m.Name).Select(s => (double)s.Step).ToArray(), samples.Where(s => s.Model == m.Name).Select(s => (double)s.LiveTensors).ToArray())).ToArray()),
                "live_tensors_over_steps.png", "Live tensors against training steps"),
        };
        var body = $"""
            ## Setup

            - The real `Trainer` (AdamW, label smoothing, clipping, dev loss and checkpoints every {steps / 5:N0} steps) on a synthetic copy task
              ({CopyTaskData.Vocab} symbols, 512 pairs of 4-12 tokens, batches of 16), `Tiny` Transformer and `Tiny` GRU + Bahdanau translators with dropout 0.1.
            - Every {every} steps: a full .NET GC, then the process's resident set size (VmRSS) and TorchSharp's count of live tensors.
            - Flat means: least-squares growth of RSS after step {warm} below {FlatMiBPer1000Steps} MiB per 1,000 steps, and the same live tensor count at step {warm} and at the end.

            {Markdown.Table(["model", $"RSS at step {warm} (MiB)", $"RSS at step {steps} (MiB)", "growth (MiB / 1,000 steps)", $"live tensors at {warm}", $"live tensors at {steps}"],
                growth.Select(g => (IReadOnlyList<string>)[g.Model, g.RssAtWarmMiB.ToString("F0"), g.RssAtEndMiB.ToString("F0"), g.RssSlopeMiBPer1000Steps.ToString("+0.00;-0.00"), g.LiveAtWarm.ToString(), g.LiveAtEnd.ToString()]))}
            """;
        return new ExperimentResult(verdict, text,
            $"Supported if, for both models, RSS grows by less than {FlatMiBPer1000Steps} MiB per 1,000 steps after step {warm} (least squares) and the live tensor count at the end equals the one at step {warm}; else not supported.",
            plots, new { Steps = steps, Every = every, Warm = warm, Samples = samples, Growth = growth }, body);
    }

    /// <summary>Targets copy their sources; each epoch a new seeded order, batches of 16.</summary>
    private sealed class CopyTaskData : ITrainingData
    {
        public const int Vocab = 24;
        public static readonly string[] Vocabulary = Enumerable.Range(0, Vocab).Select(i => i switch { 0 => "[PAD]", 1 => "[BOS]", 2 => "[EOS]", 3 => "[UNK]", _ => $"s{i}" }).ToArray();
        private readonly List<int[]> items;

        public CopyTaskData(int count, int seed)
        {
            var rng = new Random(seed);
            items = Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, rng.Next(4, 13)).Select(_ => rng.Next(4, Vocab)).ToArray()).ToList();
            Dev = Batches(items.Take(64).ToList());
        }

        public IReadOnlyList<TranslationBatch> Dev { get; }

        public IReadOnlyList<TranslationBatch> Epoch(int epoch)
        {
            var rng = new Random(100 + epoch);
            return Batches(items.OrderBy(_ => rng.Next()).ToList());
        }

        private static List<TranslationBatch> Batches(List<int[]> list) =>
            list.Chunk(16).Select(c => new TranslationBatch(c.ToList(), c.ToList())).ToList();
    }
}
