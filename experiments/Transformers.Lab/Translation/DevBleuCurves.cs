using System.Text.Json;
using Transformers.Lab.Runner;
using Transformers.Training;

namespace Transformers.Lab.Translation;

/// <summary>
/// Dev BLEU over training time from finished runs, as one PNG: our runs' evaluations (RUN/train.jsonl) and the plain
/// PyTorch reference's (its --out JSON, "bleu_over_time"). `Transformers.Lab curves --out FILE.png [--title T] [--table FILE.md] NAME=PATH...`
/// </summary>
public static class DevBleuCurves
{
    public sealed record Point(double Minutes, double DevBleu, long Step);

    /// <summary>A run directory or train.jsonl of ours, or a reference result JSON -> its dev BLEU evaluations in time order.</summary>
    public static IReadOnlyList<Point> Read(string path)
    {
        if (OursLog(path) is { } log) return PointsOf(TrainingLogLine.ReadAll(log).Evals);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        if (!doc.RootElement.TryGetProperty("bleu_over_time", out var points))
            throw new InvalidDataException($"{path}: not a reference result (no \"bleu_over_time\")");
        return points.EnumerateArray()
            .Select(p => new Point(p.GetProperty("train_min").GetDouble(), p.GetProperty("dev_bleu").GetDouble(), p.TryGetProperty("step", out var s) ? s.GetInt64() : 0))
            .ToList();
    }

    /// <summary>A run directory or train.jsonl of ours -> that log; a reference result JSON -> null; neither -> an error naming it.</summary>
    private static string? OursLog(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "train.jsonl");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such run log or reference result");
        return path.EndsWith(".jsonl", StringComparison.Ordinal) ? path : null;
    }

    private static List<Point> PointsOf(IEnumerable<(EvalRecord Eval, long? PeakRssBytes)> evals) =>
        evals.Where(e => e.Eval.DevBleu.HasValue).Select(e => new Point(e.Eval.ElapsedSeconds / 60, e.Eval.DevBleu!.Value, e.Eval.Step)).ToList();

    /// <summary>
    /// Draws <paramref name="named"/> (NAME, run directory or reference JSON) into <paramref name="output"/> and prints each
    /// curve; with <paramref name="table"/>, also writes a markdown table of the runs (ours: steps, target tokens and
    /// tokens per second of training, peak RSS).
    /// </summary>
    public static void Run(string output, string? title, IReadOnlyList<(string Name, string Path)> named, string? table = null)
    {
        var series = named.Select(n =>
        {
            var points = Read(n.Path);
            return new Series(n.Name, points.Select(p => p.Minutes).ToList(), points.Select(p => p.DevBleu).ToList());
        }).ToList();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        PlotRenderer.Save(new LinePlot(title ?? "Dev BLEU over training time", "minutes of training (evaluations off the clock)", "dev BLEU (greedy)", series),
                          MachineStamp.Take(MachineStamp.NotTimed), output);
        foreach (var s in series)
            Console.WriteLine($"{s.Name}: {string.Join(" ", s.X.Zip(s.Y, (x, y) => $"{x:F1}min:{y:F2}"))}");
        Console.WriteLine($"wrote {output}");
        if (table is null) return;
        AtomicFile.Write(table, tmp => File.WriteAllText(tmp, Table(named)));
        Console.WriteLine($"wrote {table}");
    }

    /// <summary>One row per run: its size in steps and tokens, its speed, its dev BLEU at each evaluation and its best.</summary>
    public static string Table(IReadOnlyList<(string Name, string Path)> named)
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine("| run | steps | target tokens | target tokens/s | dev BLEU at each evaluation (minute: BLEU) | best dev BLEU (minute) | peak RSS GiB |");
        text.AppendLine("|---|--:|--:|--:|---|--:|--:|");
        foreach (var (name, path) in named)
        {
            var evals = OursLog(path) is { } log ? TrainingLogLine.ReadAll(log).Evals : null;   // ours: read once
            var points = evals is null ? Read(path) : PointsOf(evals);
            var best = points.Count == 0 ? null : points.MaxBy(p => p.DevBleu);
            var curve = string.Join(", ", points.Select(p => FormattableString.Invariant($"{p.Minutes:F0}: {p.DevBleu:F2}")));
            var bestText = best is null ? "—" : FormattableString.Invariant($"{best.DevBleu:F2} ({best.Minutes:F0})");
            if (evals is null)
            {
                text.AppendLine($"| {name} | — | — | — | {curve} | {bestText} | — |");
                continue;
            }
            var last = evals.Count == 0 ? null : evals[^1].Eval;
            double tokensPerSecond = last is null || last.ElapsedSeconds <= 0 ? 0 : last.TargetTokens / last.ElapsedSeconds;
            long peak = evals.Select(e => e.PeakRssBytes ?? 0).DefaultIfEmpty(0).Max();
            text.AppendLine(FormattableString.Invariant(
                $"| {name} | {last?.Step ?? 0:N0} | {last?.TargetTokens ?? 0:N0} | {tokensPerSecond:N0} | {curve} | {bestText} | {peak / (double)(1L << 30):F2} |"));
        }
        return text.ToString();
    }
}
