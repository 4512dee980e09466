using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Transformers.Data;
using Transformers.Evaluation;
using Transformers.Lab.Runner;
using Transformers.Tokenizer;
using Transformers.Tokenizer.Models;
using Transformers.Training;
using Transformers.Translation;

namespace Transformers.Lab.Translation;

/// <summary>
/// Issue 6's comparison, from finished training runs (`transformers train ... --out RUN`, one per architecture, see
/// experiments/translators/run.sh): each run's best checkpoint is scored on the test split (greedy and beam, BLEU and
/// chrF, decoding sentences/s), its `tokens-N/` snapshot at the largest token count every run reached is scored too
/// (the equal-data comparison), and the dev BLEU curves of all runs go on one plot against minutes and against tokens.
/// An exported model directory (`transformers export-model`) or `builtin` (the built-in translator) takes part too: it
/// is scored the same way, its training figures and dev curve come from its provenance.json, and it has no snapshots.
/// </summary>
public static class TranslatorComparison
{
    public sealed record Eval(long Step, double ElapsedSeconds, long TargetTokens, double DevLoss, double? DevBleu, long? PeakRssBytes);

    public sealed record Score(string Checkpoint, int Beam, int Sentences, double Seconds, double SentencesPerSecond, double Bleu, double ChrF, string BleuLine,
                               string BleuSignature, string ChrFSignature);

    /// <summary>One run or exported model; training figures are null when unknown (an exported model without provenance).</summary>
    public sealed record RunResult(string Name, string Architecture, long Parameters, long? Steps, long? TargetTokens, double? TrainSeconds,
        double? MeanTokensPerSecond, double? MedianStepTokensPerSecond, long? PeakRssBytes, int? CpuPercent, IReadOnlyList<Eval> Evals,
        Score Greedy, Score Beam, Score? AtEqualTokens, double? MinutesToEqualTokens)
    {
        /// <summary>Dev pairs its evaluations decoded for BLEU (the run's --dev-bleu-sentences; null: unknown).</summary>
        public int? DevBleuSentences { get; init; }
    }

    public sealed record Options(int Beam = 4, int TestLimit = 0, int SampleCount = 8, string Title = "Transformer vs recurrent translators on the bundled corpus");

    /// <summary>Scores every run, writes results.json, the plots and report.md into <paramref name="outDir"/>.</summary>
    public static IReadOnlyList<RunResult> Run(IReadOnlyList<string> runDirs, string outDir, Options options, MachineStamp stamp, TextWriter log)
    {
        if (runDirs.Count == 0) throw new ArgumentException("no run directories given");
        foreach (var d in runDirs.Where(BuiltInTranslator.IsBuiltIn)) BuiltInTranslator.Directory();   // a missing built-in fails first, not after scoring the runs
        Directory.CreateDirectory(outDir);
        var split = BundledCorpus.LoadSplit();
        var test = split.Test;
        if (options.TestLimit > 0) test = test.Take(options.TestLimit).ToList();
        var sources = test.Select(p => p.Source).ToList();
        var references = test.Select(p => p.Target).ToList();

        var runs = runDirs.Where(d => !IsExportedModel(d)).ToList();
        var logs = runs.ToDictionary(d => d, ReadLog);
        var snapshots = runs.Select(d => Directory.GetDirectories(d, "tokens-*").Select(s => long.Parse(Path.GetFileName(s)["tokens-".Length..], CultureInfo.InvariantCulture)).ToHashSet()).ToList();
        long? equalTokens = snapshots.Count > 0 && snapshots.Aggregate((a, b) => a.Intersect(b).ToHashSet()) is { Count: > 0 } common ? common.Max() : null;

        var results = new List<RunResult>();
        var samples = new Dictionary<string, string[]>();
        var ceilings = new Dictionary<string, (double Plain, double Spacing)>();
        foreach (var dir in runDirs)
        {
            var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(dir));
            if (IsExportedModel(dir))
            {
                var exported = Checkpoint.Load(dir);
                var (result, hypotheses) = ScoreExported(dir, name, Describe(exported), sources, references, options, log);
                results.Add(result);
                samples[name] = hypotheses;
                ceilings[name] = RoundTrip(exported, references);
                continue;
            }
            EnsureSpacing(dir, split.Train, log);
            var (evals, steps) = logs[dir];
            var best = Path.Combine(dir, "best");
            var (greedy, greedyHyps) = Evaluate(best, sources, references, 1, log);
            var (beam, _) = Evaluate(best, sources, references, options.Beam, log);
            Score? atTokens = equalTokens is { } n ? Evaluate(Path.Combine(dir, $"tokens-{n}"), sources, references, 1, log).Score : null;
            var loaded = Checkpoint.Load(best);
            var (parameters, architecture) = Describe(loaded);
            ceilings[name] = RoundTrip(loaded, references);
            var last = steps[^1];
            results.Add(new RunResult(name, architecture, parameters, last.Step, steps.Sum(s => s.Tokens), last.ElapsedSeconds,
                steps.Sum(s => s.Tokens) / last.ElapsedSeconds, Stats.Quantile(steps.Select(s => s.TokensPerSecond).Order().ToArray(), 0.5),
                PeakRss(dir) ?? evals.Max(e => e.PeakRssBytes), CpuPercent(dir), evals, greedy, beam, atTokens, equalTokens is { } t ? MinutesTo(steps, t) : null)
            {
                DevBleuSentences = DevBleuSentences(dir),
            });
            samples[name] = greedyHyps;
        }

        var plots = new List<PlotFile>
        {
            Plot(results, stamp, outDir, "dev_bleu_over_time.png", "Dev BLEU against training time", "training time (minutes, evaluations off the clock)", e => e.ElapsedSeconds / 60),
            Plot(results, stamp, outDir, "dev_bleu_over_tokens.png", "Dev BLEU against target tokens seen", "target tokens seen (millions)", e => e.TargetTokens / 1e6),
        };
        var roundTrip = ceilings.Select(c => new { Run = c.Key, PlainDetokenizer = c.Value.Plain, LearnedSpacing = c.Value.Spacing }).ToList();
        File.WriteAllText(Path.Combine(outDir, "results.json"), JsonSerializer.Serialize(new { Machine = stamp, EqualTokens = equalTokens, RoundTripBleu = roundTrip, Runs = results }, new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllText(Path.Combine(outDir, "report.md"), Report(results, equalTokens, plots, test, samples, options, stamp, ceilings));
        return results;
    }

    /// <summary>`builtin`, or a model directory without a training log (what `transformers export-model` writes).</summary>
    private static bool IsExportedModel(string dir) =>
        BuiltInTranslator.IsBuiltIn(dir) || (!File.Exists(Path.Combine(dir, "train.jsonl")) && File.Exists(Path.Combine(dir, "model.json")));

    /// <summary>Parameters and architecture of a loaded checkpoint, whose model is then disposed (its vocabulary stays usable).</summary>
    private static (long Parameters, string Architecture) Describe(Checkpoint.Loaded loaded)
    {
        using var model = loaded.Model;
        return (model.parameters().Sum(p => p.numel()), model.ArchitectureName);
    }

    /// <summary>An exported model: scored like a run's best checkpoint; training figures and dev curve from its provenance.</summary>
    private static (RunResult Result, string[] Hypotheses) ScoreExported(string dir, string name, (long Parameters, string Architecture) model,
                                                                      List<string> sources, List<string> references, Options options, TextWriter log)
    {
        var (greedy, hypotheses) = Evaluate(dir, sources, references, 1, log);
        var (beam, _) = Evaluate(dir, sources, references, options.Beam, log);
        var (parameters, architecture) = model;
        var p = ModelExport.ReadProvenance(dir);
        var evals = p?.Evaluations.Select(e => new Eval(e.Step, e.ElapsedSeconds, e.TargetTokens, e.DevLoss, e.DevBleu, null)).ToList() ?? [];
        double? tokensPerSecond = p is { TargetTokens: { } tokens, TrainingSeconds: > 0 and var seconds } ? tokens / seconds : null;
        return (new RunResult(name, architecture, parameters, p?.Steps, p?.TargetTokens, p?.TrainingSeconds, tokensPerSecond, null, null, null, evals,
                              greedy, beam, null, null), hypotheses);
    }

    private static (List<Eval> Evals, List<StepRecord> Steps) ReadLog(string dir)
    {
        var path = Path.Combine(dir, "train.jsonl");
        if (!File.Exists(path)) throw new FileNotFoundException($"{dir} is not a training run: {path} is missing", path);
        var (steps, evals) = TrainingLogLine.ReadAll(path);
        if (steps.Count == 0) throw new InvalidDataException($"{path}: no training steps logged");
        return (evals.Select(e => new Eval(e.Eval.Step, e.Eval.ElapsedSeconds, e.Eval.TargetTokens, e.Eval.DevLoss, e.Eval.DevBleu, e.PeakRssBytes)).ToList(), steps);
    }

    /// <summary>"Maximum resident set size (kbytes): N" of `/usr/bin/time -v` saved as RUN.time beside the run, if any.</summary>
    private static long? PeakRss(string dir)
    {
        var file = Path.TrimEndingDirectorySeparator(dir) + ".time";
        if (!File.Exists(file)) return null;
        var line = File.ReadLines(file).FirstOrDefault(l => l.Contains("Maximum resident set size", StringComparison.Ordinal));
        return line is null ? null : long.Parse(line[(line.LastIndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>Runs trained before the spacing model existed get one learned now, exactly as training learns it (train split targets).</summary>
    private static void EnsureSpacing(string dir, IReadOnlyList<SentencePair> train, TextWriter log)
    {
        if (SpacingModel.Find(Path.Combine(dir, "best")) is not null) return;
        var loaded = Checkpoint.Load(Path.Combine(dir, "best"));
        loaded.Model.Dispose();
        SpacingModel.Learn(train.Select(p => p.Target), loaded.Tokenizer()).Save(Path.Combine(dir, SpacingModel.FileName));
        log.WriteLine($"  {dir}: learned {SpacingModel.FileName} from the train split's targets");
    }

    /// <summary>BLEU of the references after tokenizing and detokenizing them: the ceiling each detokenizer sets.</summary>
    private static (double Plain, double Spacing) RoundTrip(Checkpoint.Loaded loaded, List<string> references)
    {
        var tokenizer = loaded.Tokenizer();
        var spacing = loaded.Spacing();
        var options = new Transformers.Tokenizer.Processing.BertEncodeOptions { AddSpecialTokens = false };
        var ids = references.Select(r => tokenizer.Encode(r, null, options).Ids).ToList();
        double plain = Bleu.Corpus(ids.Select(i => tokenizer.Decode(i, skipSpecialTokens: true)).ToList(), [references]).Score;
        return (plain, spacing is null ? plain : Bleu.Corpus(ids.Select(i => spacing.Decode(i, tokenizer)).ToList(), [references]).Score);
    }

    /// <summary>"Percent of CPU this job got: N%" of RUN.time: how much of its cores the run really had.</summary>
    /// <summary>The run's --dev-bleu-sentences from its run.json (null: no run.json, or one without it).</summary>
    private static int? DevBleuSentences(string dir) =>
        RunSettings.Read(dir)?.Adjustable.GetValueOrDefault("--dev-bleu-sentences") is { } text && int.TryParse(text, CultureInfo.InvariantCulture, out int n) ? n : null;

    private static int? CpuPercent(string dir)
    {
        var file = Path.TrimEndingDirectorySeparator(dir) + ".time";
        if (!File.Exists(file)) return null;
        var line = File.ReadLines(file).FirstOrDefault(l => l.Contains("Percent of CPU this job got", StringComparison.Ordinal));
        return line is null ? null : int.Parse(line[(line.LastIndexOf(':') + 1)..].Trim().TrimEnd('%'), CultureInfo.InvariantCulture);
    }

    private static (Score Score, string[] Hypotheses) Evaluate(string checkpoint, List<string> sources, List<string> references, int beam, TextWriter log)
    {
        var loaded = Checkpoint.Load(checkpoint);
        using var model = loaded.Model;
        var tokenizer = loaded.Tokenizer();
        var clock = Stopwatch.StartNew();
        var hyps = new TextTranslator(model, tokenizer) { Spacing = loaded.Spacing() }.Translate(sources, new DecodingOptions { BeamSize = beam });
        double seconds = clock.Elapsed.TotalSeconds;
        var bleu = Bleu.Corpus(hyps, [references]);
        var chrf = ChrF.Corpus(hyps, [references]);
        log.WriteLine($"  {checkpoint} beam {beam}: {bleu} chrF2 {chrf.Score:F2}, {sources.Count / seconds:F1} sentences/s");
        return (new Score(checkpoint, beam, sources.Count, seconds, sources.Count / seconds, bleu.Score, chrf.Score, bleu.ToString(), bleu.Signature.ToString(), chrf.Signature.ToString()), hyps);
    }

    private static PlotFile Plot(List<RunResult> results, MachineStamp stamp, string outDir, string file, string title, string xLabel, Func<Eval, double> x)
    {
        var series = results.Select(r =>
        {
            var e = r.Evals.Where(v => v.DevBleu.HasValue).ToList();
            return new Series(r.Name, e.Select(x).ToArray(), e.Select(v => v.DevBleu!.Value).ToArray());
        }).ToArray();
        var devPairs = results.Select(r => r.DevBleuSentences).Distinct().ToList();
        string devSet = devPairs is [{ } n] ? $"first {n:N0} dev pairs" : "dev pairs as each run's --dev-bleu-sentences";
        PlotRenderer.Save(new LinePlot($"{title} (greedy, {devSet})", xLabel, "dev BLEU", series), stamp, Path.Combine(outDir, file));
        return new PlotFile(file, title);
    }

    private static string Report(List<RunResult> results, long? equalTokens, List<PlotFile> plots, IReadOnlyList<SentencePair> test,
        Dictionary<string, string[]> samples, Options options, MachineStamp stamp, Dictionary<string, (double Plain, double Spacing)> ceilings)
    {
        var md = new StringBuilder();
        md.AppendLine($"# {options.Title}").AppendLine();
        md.AppendLine($"**Machine.** {stamp.Cpu}, {stamp.Cores} cores; scored with {stamp.TorchThreads} torch thread(s) on {stamp.DateUtc:yyyy-MM-dd HH:mm} UTC, commit `{stamp.ShortCommit}`.").AppendLine();
        foreach (var p in plots) md.AppendLine($"![{p.Caption}]({p.FileName})").AppendLine();
        md.AppendLine("## Equal wall-clock budget: the best checkpoint of each run (by dev BLEU)").AppendLine();
        md.AppendLine(Markdown.Table(
            ["run", "parameters", "steps", "target tokens", "train min", "CPU share", "train tok/s (all)", "tok/s (median step)", "peak RSS", "best dev BLEU",
             "test BLEU greedy", $"test BLEU beam {options.Beam}", $"chrF2 beam {options.Beam}", "decode sent/s greedy", $"decode sent/s beam {options.Beam}"],
            results.Select(r => (IReadOnlyList<string>)[r.Name, r.Parameters.ToString("N0"), r.Steps?.ToString() ?? "n/a", r.TargetTokens?.ToString("N0") ?? "n/a", (r.TrainSeconds / 60)?.ToString("F1") ?? "n/a", r.CpuPercent is { } c ? $"{c} %" : "n/a",
                r.MeanTokensPerSecond?.ToString("N0") ?? "n/a", r.MedianStepTokensPerSecond?.ToString("N0") ?? "n/a", r.PeakRssBytes is { } b ? $"{b / 1048576.0:N0} MiB" : "n/a",
                r.Evals.Where(e => e.DevBleu.HasValue).Select(e => (double?)e.DevBleu!.Value).Max()?.ToString("F2") ?? "n/a",
                r.Greedy.Bleu.ToString("F2"), r.Beam.Bleu.ToString("F2"), r.Beam.ChrF.ToString("F2"), r.Greedy.SentencesPerSecond.ToString("F1"), r.Beam.SentencesPerSecond.ToString("F1")])));
        var signatures = results.Select(r => (r.Greedy.BleuSignature, r.Greedy.ChrFSignature)).Distinct().ToList();
        md.AppendLine($"Test split: {test.Count:N0} pairs. Signatures: " + string.Join("; ", signatures.Select(x => $"BLEU `{x.BleuSignature}`, chrF2 `{x.ChrFSignature}`")) + ".").AppendLine();
        md.AppendLine("```");
        foreach (var r in results) md.AppendLine($"{r.Name,-12} beam {options.Beam}: {r.Beam.BleuLine}");
        md.AppendLine("```").AppendLine();
        md.AppendLine("Detokenization: translations are detokenized with the spacing learned from the training targets (`spacing.tsv`). The ceiling it sets, BLEU of the "
            + "test references after tokenizing and detokenizing them: " + string.Join("; ", ceilings.Select(c => $"{c.Key} {c.Value.Spacing:F2} (HF's WordPiece cleanup: {c.Value.Plain:F2})")) + ".").AppendLine();
        md.AppendLine("## Equal data: the snapshot after the same number of target tokens").AppendLine();
        if (equalTokens is null) md.AppendLine("Not measured: the runs have no `tokens-N/` snapshot in common.").AppendLine();
        else
        {
            md.AppendLine($"Every run saved its weights once it had trained on {equalTokens:N0} target tokens (`--snapshot-tokens`); greedy decoding of the test split:").AppendLine();
            md.AppendLine(Markdown.Table(["run", "test BLEU greedy", "chrF2 greedy", "minutes to reach it"],
                results.Select(r => (IReadOnlyList<string>)[r.Name, r.AtEqualTokens?.Bleu.ToString("F2") ?? "n/a (no snapshots)", r.AtEqualTokens?.ChrF.ToString("F2") ?? "n/a", r.MinutesToEqualTokens?.ToString("F1") ?? "n/a"])));
        }
        md.AppendLine("## Dev BLEU at each evaluation").AppendLine();
        foreach (var r in results)
        {
            md.AppendLine($"{r.Name}: " + (r.Evals.Count == 0 ? "none recorded" : "") + string.Join(", ", r.Evals.Select(e => $"{e.ElapsedSeconds / 60:F1} min / {e.TargetTokens / 1e6:F2} M tok → {(e.DevBleu is { } b ? b.ToString("F2") : "–")}")));
            md.AppendLine();
        }
        md.AppendLine($"## {options.SampleCount} test sentences (greedy, best checkpoints)").AppendLine();
        for (int i = 0; i < Math.Min(options.SampleCount, test.Count); i++)
        {
            int k = (int)((long)i * test.Count / options.SampleCount);
            md.AppendLine($"- fr: {test[k].Source}");
            md.AppendLine($"  - ref: {test[k].Target}");
            foreach (var (name, hyps) in samples) md.AppendLine($"  - {name}: {hyps[k]}");
        }
        return md.ToString();
    }

    /// <summary>Minutes of the step at which the run's cumulative target tokens reached <paramref name="tokens"/>.</summary>
    private static double? MinutesTo(List<StepRecord> steps, long tokens)
    {
        long seen = 0;
        foreach (var s in steps)
            if ((seen += s.Tokens) >= tokens) return s.ElapsedSeconds / 60;
        return null;
    }
}
