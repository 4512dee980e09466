using System.Text.Json;
using Transformers.Lab.Experiments;
using Transformers.Lab.Runner;

namespace Transformers.Tests.Lab;

/// <summary>
/// `all --quick` into a temporary folder: every experiment must write its raw JSON, its PNG plots, its report and its
/// row of the results table. Serial: the lab sets libtorch's thread count, which is process-wide.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class LabQuickRunTests
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public void QuickRunWritesEveryExperimentsResultsPlotsReportAndReadmeRow()
    {
        var root = Path.Combine(Path.GetTempPath(), "lab-quick-" + Guid.NewGuid().ToString("N"));
        try
        {
            var summaries = LabRunner.Run(LabRunner.Experiments, new LabOptions(Quick: true, root, Threads: 1), TextWriter.Null);

            Assert.Equal(LabRunner.Experiments.Select(e => e.Name), summaries.Select(s => s.Name));
            var readme = File.ReadAllLines(Path.Combine(root, "README.md"));
            Assert.Contains("| claim | verdict | evidence | machine and date |", readme);
            foreach (var summary in summaries)
            {
                var dir = Path.Combine(root, summary.Name);
                using (var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, LabRunner.ResultsFile))))
                {
                    Assert.True(results.RootElement.GetProperty("Quick").GetBoolean());
                    Assert.Equal(JsonValueKind.Object, results.RootElement.GetProperty("Raw").ValueKind);
                    Assert.Equal(1, results.RootElement.GetProperty("Machine").GetProperty("TorchThreads").GetInt32());
                }
                Assert.NotEmpty(summary.Plots);
                foreach (var plot in summary.Plots)
                {
                    var bytes = File.ReadAllBytes(Path.Combine(dir, plot.FileName));
                    Assert.Equal(PngSignature, bytes.Take(8));
                    Assert.True(bytes.Length > 10_000, $"{summary.Name}/{plot.FileName} is only {bytes.Length} bytes");
                }
                var report = File.ReadAllText(Path.Combine(dir, LabRunner.ReportFile));
                Assert.Contains($"**Verdict: {LabRunner.Words(summary.Verdict)}.**", report);
                Assert.Contains("1 torch thread(s)", report);
                Assert.All(summary.Plots, p => Assert.Contains($"]({p.FileName})", report));
                Assert.Single(readme, l => l.StartsWith($"| [{summary.Name}]({summary.Name}/report.md): ", StringComparison.Ordinal)
                    && l.Contains($"**{LabRunner.Words(summary.Verdict)}**", StringComparison.Ordinal));
            }
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void FitsAndCrossoversAreExact()
    {
        // t(L) = 2 + 0.5 L + 0.01 L²: the quadratic term reaches the linear one at L = 0.5 / 0.01 = 50.
        int[] lengths = [8, 16, 32, 64, 128];
        var latency = lengths.Select(l => TimingStats.FromSamples([2 + 0.5 * l + 0.01 * l * l])).ToArray();
        var fit = ParallelVsSequential.FitQuadratic(1, lengths, latency);
        Assert.Equal(50, fit.QuadraticTakesOver, 6);

        // a = L, b = 32 (constant): equal at 32 exactly, found between neighbours 16 and 64 by log-log interpolation.
        var crossing = ParallelVsSequential.Crossings([16, 64], [TimingStats.FromSamples([16]), TimingStats.FromSamples([64])],
            [TimingStats.FromSamples([32]), TimingStats.FromSamples([32])]);
        Assert.Equal(32, Assert.Single(crossing), 6);

        Assert.Equal(2.5, Stats.Quantile([1, 2, 3, 4], 0.5), 12);
        Assert.Equal(-1, VanishingGradients.DecaySlope([5, 1, 0.1, 0.01]), 12); // distance 0 is left out of the fit
    }

    [Fact]
    public void OvertakeTableFindsWhereTheTransformerBecomesFaster()
    {
        // Training at batch 2: the Transformer takes 4 ms at every length; the LSTM 2, 8, 16 ms (Transformer / LSTM tok/s 0.5,
        // 2, 4: clearly faster from 32; the medians cross where log(4 / t) changes sign, halfway between log 16 and log 32 on
        // the log-log line, at 16·√2 ≈ 22.6); the RNN 8 ms at 16 and 32, its 64 skipped; the GRU 1 ms everywhere (never overtaken).
        Throughput.Point P(string model, int length, double ms) =>
            new(model, "train", 2, length, TimingStats.FromSamples([ms]), 2.0 * length / ms * 1000, 2.0 * length / ms * 1000, 2.0 * length / ms * 1000, null);
        Throughput.Point[] points =
        [
            P("Transformer", 16, 4), P("Transformer", 32, 4), P("Transformer", 64, 4),
            P("LSTM", 16, 2), P("LSTM", 32, 8), P("LSTM", 64, 16),
            P("RNN", 16, 8), P("RNN", 32, 8),
            P("GRU", 16, 1), P("GRU", 32, 1), P("GRU", 64, 1),
        ];
        var table = Throughput.OvertakeTable(points, ["LSTM", "RNN", "GRU"], [("train", 2)], [16, 32, 64]).Split('\n');
        Assert.Equal("| training | 2 | LSTM | 0.50 / 2.00 / 4.00 | from length 32 | L≈23 |", table[2]);
        Assert.Equal("| training | 2 | RNN | 2.00 / 2.00 / – | at every length (16-32) | none |", table[3]);
        Assert.Equal("| training | 2 | GRU | 0.25 / 0.25 / 0.25 | no (up to 64) | none |", table[4]);
    }
}
