using System.Diagnostics;
using System.Globalization;
using System.Text;
using Transformers.Data;
using Transformers.Lab.Runner;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Lab.Translation;

/// <summary>
/// Issue 15 item 4, carried to the translators: the built-in translator decoding the same test sentences with its
/// weights in PyTorch's layout and re-laid input-major (<see cref="Seq2SeqModel.UseInputMajorStorage"/>, what
/// <c>translate</c>, <c>evaluate</c> and <c>serve</c> now do on the CPU), one sentence at a time (a beam's 4 rows) and 64
/// per batch (as <c>evaluate</c>), greedy and beam 4. The two layouts alternate within each round (the first of the
/// pair alternates between rounds); each figure is the median over rounds. Both layouts' translations are compared.
/// <c>decode-layout [--threads N] [--out FILE]</c>
/// </summary>
public static class DecodeLayout
{
    private sealed record Case(string Name, int Sentences, int BatchSentences, int Beam);

    private static readonly Case[] Cases =
    [
        new("one sentence at a time, greedy", 60, 1, 1),
        new("one sentence at a time, beam 4", 60, 1, 4),
        new("64 sentences per batch, greedy", 512, 64, 1),
        new("64 sentences per batch, beam 4", 512, 64, 4),
    ];

    private const int Rounds = 5;

    public static int Run(int threads, string? output)
    {
        TorchRuntime.EnsureLoaded();
        set_num_threads(threads);
        var stamp = MachineStamp.Take(threads);
        var usual = Checkpoint.Load("builtin");
        var relaid = Checkpoint.Load("builtin");
        int count = relaid.Model.UseInputMajorStorage();
        var tokenizer = usual.Tokenizer();
        var spacing = usual.Spacing();
        var test = BundledCorpus.LoadSplit().Test.Select(p => p.Source).ToList();

        var report = new StringBuilder();
        report.AppendLine("# Decoding with the weights re-laid input-major (issue 15 item 4, the translators)").AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"{stamp.Cpu}, {stamp.Cores} cores, {threads} threads; {stamp.DateUtc:yyyy-MM-dd HH:mm} UTC, commit {stamp.ShortCommit}, load {stamp.LoadAverage}.");
        report.AppendLine(CultureInfo.InvariantCulture, $"The built-in translator ({usual.Model.ArchitectureName}, {usual.Model.parameters().Sum(p => p.numel()):N0} parameters) loaded twice: as stored, and with `UseInputMajorStorage()` ({count} weights re-laid: every Linear and the tied output embedding).");
        report.AppendLine(CultureInfo.InvariantCulture, $"The first sentences of the bundled test split; {Rounds} rounds, the two layouts alternating; ms per sentence, median over rounds [min-max].").AppendLine();
        report.AppendLine("| decoding | sentences | as stored, ms / sentence | input-major, ms / sentence | speed-up | translations that differ |");
        report.AppendLine("|---|--:|--:|--:|--:|--:|");
        foreach (var c in Cases)
        {
            var sentences = test.Take(c.Sentences).ToList();
            var options = new DecodingOptions { BeamSize = c.Beam };
            string[] Translate(Checkpoint.Loaded loaded) =>
                new TextTranslator(loaded.Model, tokenizer, c.BatchSentences) { Spacing = spacing }.Translate(sentences, options);
            var a = Translate(usual);                                                        // warm-up, and the outputs compared
            var b = Translate(relaid);
            int differ = a.Zip(b).Count(p => p.First != p.Second);
            var times = new[] { new List<double>(), new List<double>() };
            for (int round = 0; round < Rounds; round++)
            {
                foreach (int side in round % 2 == 0 ? new[] { 0, 1 } : [1, 0])
                {
                    var start = Stopwatch.GetTimestamp();
                    Translate(side == 0 ? usual : relaid);
                    times[side].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds / sentences.Count);
                }
            }
            var (s, r) = (TimingStats.FromSamples(times[0]), TimingStats.FromSamples(times[1]));
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| {c.Name} | {sentences.Count} | {s.MedianMs:F2} [{s.MinMs:F2}-{s.MaxMs:F2}] | {r.MedianMs:F2} [{r.MinMs:F2}-{r.MaxMs:F2}] | {s.MedianMs / r.MedianMs:F2}× | {differ} |");
            Console.Error.WriteLine($"decode-layout: {c.Name} done");
        }
        usual.Model.Dispose();
        relaid.Model.Dispose();
        Console.Write(report);
        if (output is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
            File.WriteAllText(output, report.ToString());
        }
        return 0;
    }
}
