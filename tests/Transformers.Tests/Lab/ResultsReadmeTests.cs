using System.Text.Json;
using Transformers.Lab.Runner;
using Transformers.Lab.Translation;

namespace Transformers.Tests.Lab;

public sealed class ResultsReadmeTests
{
    [Fact]
    public void OtherReports_AreListedWithTheirTitles_InNameOrder()
    {
        var root = Path.Combine(Path.GetTempPath(), "lab-readme-" + Guid.NewGuid().ToString("N"));
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "zeta"));
            File.WriteAllText(Path.Combine(root, "zeta", "report.md"), "\n# Zeta: a hand-made report \nbody\n# not the title\n");
            Directory.CreateDirectory(Path.Combine(root, "alpha"));
            File.WriteAllText(Path.Combine(root, "alpha", "report.md"), "no heading here\n");
            Directory.CreateDirectory(Path.Combine(root, "empty"));   // no report: not listed

            LabRunner.WriteReadme(root);

            var lines = File.ReadAllLines(Path.Combine(root, "README.md"));
            Assert.Equal(["- [alpha](alpha/report.md)", "- [zeta](zeta/report.md): Zeta: a hand-made report"],
                         lines.Where(l => l.StartsWith("- [", StringComparison.Ordinal)));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void AnExperimentRunIntoItsOwnFolder_IsARowThatLinksThere_AfterItsDefaultRun()
    {
        var root = Path.Combine(Path.GetTempPath(), "lab-readme-" + Guid.NewGuid().ToString("N"));
        try
        {
            var stamp = new MachineStamp("Zen", 2, 1, new DateTime(2026, 12, 7, 12, 0, 0, DateTimeKind.Utc), "0123456789abcdef0123456789abcdef01234567", "0.50");
            foreach (var (folder, name) in new[] { ("throughput-1-thread", "throughput"), ("throughput", "throughput"), ("gru-vs-lstm", "gru-vs-lstm") })
            {
                Directory.CreateDirectory(Path.Combine(root, folder));
                File.WriteAllText(Path.Combine(root, folder, "summary.json"), JsonSerializer.Serialize(
                    new ExperimentSummary(name, "claim", Verdict.Supported, "why", [new PlotFile("a.png", "A")], stamp, Quick: false)));
            }

            LabRunner.WriteReadme(root);

            var rows = File.ReadAllLines(Path.Combine(root, "README.md")).Where(l => l.StartsWith("| [", StringComparison.Ordinal)).ToList();
            Assert.Equal(["| [throughput](throughput/report.md): claim | **supported**: why | [A](throughput/a.png) | Zen, 2 cores, 1 torch thread(s), 2026-12-07, 0123456 |",
                          "| [throughput-1-thread](throughput-1-thread/report.md): claim | **supported**: why | [A](throughput-1-thread/a.png) | Zen, 2 cores, 1 torch thread(s), 2026-12-07, 0123456 |",
                          "| [gru-vs-lstm](gru-vs-lstm/report.md): claim | **supported**: why | [A](gru-vs-lstm/a.png) | Zen, 2 cores, 1 torch thread(s), 2026-12-07, 0123456 |"], rows);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void TrainedTranslatorSets_GiveTheirRatios_OtherResultsAreSkipped()
    {
        var root = Path.Combine(Path.GetTempPath(), "lab-readme-" + Guid.NewGuid().ToString("N"));
        try
        {
            var stamp = new MachineStamp("Zen", 2, 2, new DateTime(2026, 12, 7, 12, 0, 0, DateTimeKind.Utc), "0123456789abcdef0123456789abcdef01234567", "0.50");
            Write(root, "translators-a", new
            {
                Machine = stamp,
                Runs = new[]
                {
                    Run("transformer", 7_578_624, 2000, 200, 40.0), Run("gru", 3_691_520, 4000, 500, 38.5),
                    Run("lstm", 4_217_600, 3200, 400, 37.25), Run("rnn", 2_902_016, 5000, 625, 36.0),
                },
            });
            Write(root, "recurrent-only", new { Machine = stamp, Runs = new[] { Run("gru", 1, 1, 1, 1), Run("lstm", 1, 1, 1, 1) } });
            Write(root, "throughput", new { Name = "throughput", Points = new[] { 1, 2 } });

            LabRunner.WriteReadme(root);

            var rows = File.ReadAllLines(Path.Combine(root, "README.md")).Where(l => l.StartsWith("| [", StringComparison.Ordinal)).ToList();
            // Transformer / fastest recurrent: 2000 / 5000 (RNN) training, 200 / 625 (RNN) decoding; GRU / LSTM 4000 / 3200.
            Assert.Equal(["| [translators-a](translators-a/report.md) | 7.58 M; recurrent 2.90–4.22 M | **0.40** (RNN 5,000, Transformer 2,000) "
                          + "| **0.32** (RNN 625, Transformer 200) | 1.25 | 40.00 / 38.50 / 37.25 / 36.00 (beam 4) | Zen, 2 cores, 2026-12-07, 0123456 |"], rows);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    private static void Write(string root, string name, object results)
    {
        Directory.CreateDirectory(Path.Combine(root, name));
        File.WriteAllText(Path.Combine(root, name, "results.json"), JsonSerializer.Serialize(results));
    }

    private static TranslatorComparison.RunResult Run(string architecture, long parameters, double tokensPerSecond, double sentencesPerSecond, double beamBleu)
    {
        TranslatorComparison.Score Score(int beam, double bleu) => new("best", beam, 2000, 2000 / sentencesPerSecond, sentencesPerSecond, bleu, 60, "BLEU", "nrefs:1", "nrefs:1");
        return new TranslatorComparison.RunResult(architecture, architecture, parameters, 100, 1_000_000, 1800, tokensPerSecond, tokensPerSecond, 1L << 30, 190,
            [], Score(1, beamBleu - 1), Score(4, beamBleu), null, null);
    }
}
