using System.Text.Json;
using Transformers.Lab.Runner;
using Transformers.Training;

namespace Transformers.Lab.Translation;

/// <summary>
/// Dev BLEU over training time from finished runs, as one PNG: our runs' evaluations (RUN/train.jsonl) and the plain
/// PyTorch reference's (its --out JSON, "bleu_over_time"). `Transformers.Lab curves --out FILE.png [--title T] NAME=PATH...`
/// </summary>
public static class DevBleuCurves
{
    public sealed record Point(double Minutes, double DevBleu, long Step);

    /// <summary>A run directory or train.jsonl of ours, or a reference result JSON -> its dev BLEU evaluations in time order.</summary>
    public static IReadOnlyList<Point> Read(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "train.jsonl");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such run log or reference result");
        if (path.EndsWith(".jsonl", StringComparison.Ordinal)) return ReadOurs(path);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        if (!doc.RootElement.TryGetProperty("bleu_over_time", out var points))
            throw new InvalidDataException($"{path}: not a reference result (no \"bleu_over_time\")");
        return points.EnumerateArray()
            .Select(p => new Point(p.GetProperty("train_min").GetDouble(), p.GetProperty("dev_bleu").GetDouble(), p.TryGetProperty("step", out var s) ? s.GetInt64() : 0))
            .ToList();
    }

    private static List<Point> ReadOurs(string path) =>
        TrainingLogLine.ReadAll(path).Evals.Where(e => e.Eval.DevBleu.HasValue)
            .Select(e => new Point(e.Eval.ElapsedSeconds / 60, e.Eval.DevBleu!.Value, e.Eval.Step)).ToList();

    public static int Run(string[] args)
    {
        string? output = null, title = null;
        var named = new List<(string Name, string Path)>();
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--out": output = Value(); break;
                    case "--title": title = Value(); break;
                    default:
                        int eq = args[i].IndexOf('=');
                        if (args[i].StartsWith('-') || eq <= 0) throw new ArgumentException($"'{args[i]}': expected NAME=PATH (a run directory or a reference JSON)");
                        named.Add((args[i][..eq], args[i][(eq + 1)..]));
                        break;
                }
            }
            if (output is null || named.Count == 0) throw new ArgumentException("give --out FILE.png and at least one NAME=PATH");
            var series = named.Select(n =>
            {
                var points = Read(n.Path);
                return new Series(n.Name, points.Select(p => p.Minutes).ToList(), points.Select(p => p.DevBleu).ToList());
            }).ToList();
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
            PlotRenderer.Save(new LinePlot(title ?? "Dev BLEU over training time", "minutes of training (evaluations off the clock)", "dev BLEU (greedy)", series),
                              MachineStamp.Take(0), output);
            foreach (var (s, n) in series.Zip(named))
                Console.WriteLine($"{s.Name}: {string.Join(" ", s.X.Zip(s.Y, (x, y) => $"{x:F1}min:{y:F2}"))}");
            Console.WriteLine($"wrote {output}");
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or JsonException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine("usage: Transformers.Lab curves --out FILE.png [--title T] NAME=RUN_DIR|REFERENCE.json...");
            return 2;
        }
    }
}
