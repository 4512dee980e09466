using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp;
using Transformers.Lab.Experiments;

namespace Transformers.Lab.Runner;

/// <summary>
/// How to run the lab. <paramref name="Threads"/>: libtorch intra-op threads (torch.set_num_threads).
/// <paramref name="Directory"/>: the folder under the root for a single experiment's results instead of its name (e.g.
/// throughput-1-thread beside throughput); null: the experiment's name.
/// </summary>
public sealed record LabOptions(bool Quick, string OutputRoot, int Threads, string? Directory = null);

/// <summary>
/// Runs experiments and writes, per experiment, <c>&lt;root&gt;/&lt;name&gt;/</c> (or the folder the options name) with
/// results.json (raw numbers), summary.json (the table row), report.md and the PNG plots; then regenerates
/// <c>&lt;root&gt;/README.md</c> from every summary.json under the root (so running one experiment keeps the other rows).
/// </summary>
public static class LabRunner
{
    /// <summary>Every experiment, in the order of issue 8. </summary>
    public static IReadOnlyList<IExperiment> Experiments { get; } =
    [
        new Throughput(),
        new AttentionCost(),
        new ParallelVsSequential(),
        new GruVsLstm(),
        new VanishingGradients(),
        new LongMemory(),
        new Bidirectional(),
        new MemoryFlat(),
        new TrainStepProfile(),
    ];

    public const string ResultsFile = "results.json";
    public const string SummaryFile = "summary.json";
    public const string ReportFile = "report.md";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // NaN where a fit or a crossover does not exist
        IncludeFields = true,
    };

    /// <summary>Runs <paramref name="experiments"/> one after another; restores libtorch's thread count afterwards.</summary>
    public static IReadOnlyList<ExperimentSummary> Run(IEnumerable<IExperiment> experiments, LabOptions options, TextWriter log)
    {
        TorchRuntime.EnsureLoaded();
        var list = experiments.ToList();
        if (options.Directory is not null && list.Count != 1)
            throw new ArgumentException($"--dir {options.Directory}: names the folder of one experiment, not of {list.Count}");
        var previousThreads = torch.get_num_threads();
        var summaries = new List<ExperimentSummary>();
        try
        {
            torch.set_num_threads(options.Threads);
            foreach (var experiment in list)
                summaries.Add(RunOne(experiment, options, log));
        }
        finally
        {
            torch.set_num_threads(previousThreads);
        }
        WriteReadme(options.OutputRoot);
        return summaries;
    }

    private static ExperimentSummary RunOne(IExperiment experiment, LabOptions options, TextWriter log)
    {
        var directory = Path.Combine(options.OutputRoot, options.Directory ?? experiment.Name);
        Directory.CreateDirectory(directory);
        foreach (var stale in Directory.GetFiles(directory, "*.png")) File.Delete(stale); // plots of an earlier run
        var stamp = MachineStamp.Take(torch.get_num_threads());
        log.WriteLine($"[{experiment.Name}] {(options.Quick ? "quick" : "full")} run, {stamp.OneLine}");
        torch.manual_seed(1);
        var started = DateTime.UtcNow;
        var result = experiment.Run(new LabContext(options.Quick, directory, stamp, log));
        var elapsed = DateTime.UtcNow - started;
        log.WriteLine($"[{experiment.Name}] {result.Verdict}: {result.VerdictText} ({elapsed.TotalSeconds:F1} s)");

        var summary = new ExperimentSummary(experiment.Name, experiment.Claim, result.Verdict, result.VerdictText, result.Plots, stamp, options.Quick);
        File.WriteAllText(Path.Combine(directory, ResultsFile), JsonSerializer.Serialize(new
        {
            experiment.Name, experiment.Claim, options.Quick, Machine = stamp, result.Verdict, result.VerdictText, result.Rule,
            ElapsedSeconds = elapsed.TotalSeconds, result.Raw,
        }, Json));
        File.WriteAllText(Path.Combine(directory, SummaryFile), JsonSerializer.Serialize(summary, Json));
        File.WriteAllText(Path.Combine(directory, ReportFile), Report(experiment, result, stamp, options));
        return summary;
    }

    private static string Report(IExperiment experiment, ExperimentResult result, MachineStamp stamp, LabOptions options)
    {
        bool quick = options.Quick;
        var md = new StringBuilder();
        md.AppendLine($"# {experiment.Name}").AppendLine();
        md.AppendLine($"**Claim.** {experiment.Claim}").AppendLine();
        md.AppendLine($"**Verdict: {Words(result.Verdict)}.** {result.VerdictText}").AppendLine();
        md.AppendLine($"**Rule (applied in code).** {result.Rule}").AppendLine();
        md.AppendLine($"**Machine.** {stamp.Cpu}, {stamp.Cores} cores, **{stamp.TorchThreads} torch thread(s)**, {stamp.DateUtc:yyyy-MM-dd HH:mm} UTC, "
            + $"commit `{stamp.Commit}`, load average {stamp.LoadAverage} at the start.").AppendLine();
        if (quick)
            md.AppendLine("> **Quick run**: tiny sizes to check that the lab works; these numbers are not evidence for or against the claim.").AppendLine();
        md.AppendLine("## Plots").AppendLine();
        foreach (var plot in result.Plots)
            md.AppendLine($"![{plot.Caption}]({plot.FileName})").AppendLine().AppendLine($"*{plot.Caption}*").AppendLine();
        md.AppendLine(result.Body.TrimEnd()).AppendLine();
        md.AppendLine("## Reproduce").AppendLine();
        md.AppendLine("```").AppendLine($"dotnet run -c Release --project experiments/Transformers.Lab -- {experiment.Name} --threads {stamp.TorchThreads}"
            + (options.Directory is null ? "" : $" --dir {options.Directory}") + (quick ? " --quick" : "")).AppendLine("```");
        md.AppendLine().AppendLine($"Raw numbers: [{ResultsFile}]({ResultsFile}).");
        return md.ToString();
    }

    /// <summary>
    /// Rebuilds README.md from every summary.json under <paramref name="root"/>; then the trained translators' figures that
    /// bear on the claims (<see cref="TranslatorEvidence"/>); then lists other reports (a report.md without a summary.json),
    /// each with its title (its first "# " line).
    /// </summary>
    public static void WriteReadme(string root)
    {
        var order = Experiments.Select(e => e.Name).ToList();
        int Rank(string name) => order.IndexOf(name) is var i and >= 0 ? i : order.Count;
        // Each summary with the folder it is in (an experiment's name, or the --dir it was run with), in the experiments'
        // order, then by folder.
        var summaries = Directory.Exists(root)
            ? Directory.GetDirectories(root).Order(StringComparer.Ordinal)
                .Where(d => File.Exists(Path.Combine(d, SummaryFile)))
                .Select(d => (Folder: Path.GetFileName(d), Summary: JsonSerializer.Deserialize<ExperimentSummary>(File.ReadAllText(Path.Combine(d, SummaryFile)), Json)!))
                .OrderBy(x => Rank(x.Summary.Name))
                .ToList()
            : [];

        var md = new StringBuilder();
        md.AppendLine("# Lab results").AppendLine();
        md.AppendLine("Generated by `dotnet run -c Release --project experiments/Transformers.Lab -- all` (see `experiments/README.md`); "
            + "do not edit by hand. Each verdict is computed from the numbers by the rule stated in the experiment's report.").AppendLine();
        md.AppendLine("| claim | verdict | evidence | machine and date |");
        md.AppendLine("|---|---|---|---|");
        foreach (var (folder, s) in summaries)
        {
            var evidence = string.Join("<br>", s.Plots.Select(p => $"[{Cell(p.Caption)}]({folder}/{p.FileName})"));
            var machine = $"{s.Machine.Cpu}, {s.Machine.Cores} cores, {s.Machine.TorchThreads} torch thread(s), {s.Machine.Date}, {s.Machine.ShortCommit}"
                + (s.Quick ? " (**quick run**)" : "");
            md.AppendLine($"| [{folder}]({folder}/{ReportFile}): {Cell(s.Claim)} | **{Words(s.Verdict)}**: {Cell(s.VerdictText)} | {evidence} | {Cell(machine)} |");
        }
        if (TranslatorEvidence.Section(root) is { Count: > 0 } translators)
        {
            md.AppendLine();
            foreach (var line in translators) md.AppendLine(line);
        }
        var others = Directory.Exists(root)
            ? Directory.GetDirectories(root).Order(StringComparer.Ordinal)
                .Where(d => File.Exists(Path.Combine(d, ReportFile)) && !File.Exists(Path.Combine(d, SummaryFile))).ToList()
            : [];
        if (others.Count > 0)
        {
            md.AppendLine().AppendLine("Other reports (translators trained on the bundled corpus, micro-benchmarks; each says how it was made and how to reproduce it):").AppendLine();
            foreach (var d in others)
            {
                var title = File.ReadLines(Path.Combine(d, ReportFile)).FirstOrDefault(l => l.StartsWith("# ", StringComparison.Ordinal));
                md.AppendLine($"- [{Path.GetFileName(d)}]({Path.GetFileName(d)}/{ReportFile}){(title is null ? "" : $": {title[2..].Trim()}")}");
            }
        }
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, "README.md"), md.ToString());
    }

    public static string Words(Verdict verdict) => verdict switch
    {
        Verdict.Supported => "supported",
        Verdict.PartlySupported => "partly supported",
        Verdict.NotSupported => "not supported",
        _ => "inconclusive",
    };

    private static string Cell(string text) => text.Replace("|", "\\|").Replace("\r", "").Replace("\n", " ");
}
