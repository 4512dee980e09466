using System.Globalization;
using System.Text.Json;
using Transformers.Lab.Translation;
using Transformers.Translation;

namespace Transformers.Lab.Runner;

/// <summary>
/// The results README's section on trained translators: for every set of runs the lab's `translators` command scored
/// (a directory under the results root whose results.json holds a Transformer and recurrent runs), the figures that
/// bear on the throughput and GRU-vs-LSTM claims at translator scale — training target tokens/s and greedy decoding
/// sentences/s, Transformer over the fastest recurrent model, and GRU over LSTM — beside the test BLEU each reached.
/// Evidence, not a verdict: one seed per run, one corpus of short sentences, sizes set by each preset.
/// </summary>
public static class TranslatorEvidence
{
    private sealed record ScoredSet(MachineStamp Machine, List<TranslatorComparison.RunResult>? Runs);

    /// <summary>The section's Markdown lines; none when no directory under <paramref name="root"/> holds such a set.</summary>
    public static IReadOnlyList<string> Section(string root)
    {
        var rows = new List<string>();
        var directories = Directory.Exists(root) ? Directory.GetDirectories(root) : [];
        foreach (var dir in directories.Order(StringComparer.Ordinal))
            if (Read(Path.Combine(dir, LabRunner.ResultsFile)) is { } set)
                rows.Add(Row(Path.GetFileName(dir), set));
        if (rows.Count == 0) return [];
        return
        [
            "## The claims at translator scale",
            "",
            "Translators trained on the bundled corpus, one seed each (" +
            "[translators](translators/report.md) reads them). Ratios above 1 favour the first named; the throughput claim " +
            "is about models of the same size, which the `matched` set is and the `small` set is not.",
            "",
            "| set | parameters | training target tokens/s: Transformer / fastest recurrent | greedy decoding sentences/s: Transformer / fastest recurrent " +
            "| training target tokens/s: GRU / LSTM | test BLEU (beam): Transformer / GRU / LSTM / RNN | machine and date of scoring |",
            "|---|---|---|---|---|---|---|",
            .. rows,
        ];
    }

    /// <summary>A results.json written by <see cref="TranslatorComparison"/> with a Transformer and at least one recurrent run; else null.</summary>
    private static ScoredSet? Read(string file)
    {
        if (!File.Exists(file)) return null;
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("Runs", out var runs) || runs.ValueKind != JsonValueKind.Array
            || !runs.EnumerateArray().All(r => r.ValueKind == JsonValueKind.Object && r.TryGetProperty("Architecture", out _) && r.TryGetProperty("Greedy", out _)))
            return null;   // another experiment's raw numbers
        var set = root.Deserialize<ScoredSet>();
        return set?.Runs is { } all && all.Any(IsTransformer) && all.Any(r => !IsTransformer(r)) ? set : null;
    }

    private static bool IsTransformer(TranslatorComparison.RunResult run) => Is(run, TranslatorArchitecture.Transformer);

    /// <summary>Whether a run is of an architecture (results.json names it as checkpoints do, <see cref="TranslatorFactory.NameOf"/>).</summary>
    private static bool Is(TranslatorComparison.RunResult run, TranslatorArchitecture architecture) => run.Architecture == TranslatorFactory.NameOf(architecture);

    /// <summary>The order of the BLEU column.</summary>
    private static readonly TranslatorArchitecture[] Columns =
        [TranslatorArchitecture.Transformer, TranslatorArchitecture.Gru, TranslatorArchitecture.Lstm, TranslatorArchitecture.Rnn];

    private static string Row(string name, ScoredSet set)
    {
        var runs = set.Runs!;
        var transformer = runs.First(IsTransformer);
        var recurrent = runs.Where(r => !IsTransformer(r)).ToList();
        TranslatorComparison.RunResult? Named(TranslatorArchitecture architecture) => runs.FirstOrDefault(r => Is(r, architecture));

        var trainers = recurrent.Where(r => r.MeanTokensPerSecond is not null).ToList();
        var training = transformer.MeanTokensPerSecond is { } t && trainers.Count > 0 && trainers.MaxBy(r => r.MeanTokensPerSecond!.Value) is { } fastest
            ? Ratio(t, fastest.MeanTokensPerSecond!.Value, fastest.Architecture) : "–";
        var decoder = recurrent.MaxBy(r => r.Greedy.SentencesPerSecond)!;
        var decoding = Ratio(transformer.Greedy.SentencesPerSecond, decoder.Greedy.SentencesPerSecond, decoder.Architecture);
        var gruOverLstm = Named(TranslatorArchitecture.Gru)?.MeanTokensPerSecond is { } gru && Named(TranslatorArchitecture.Lstm)?.MeanTokensPerSecond is { } lstm
            ? (gru / lstm).ToString("F2", CultureInfo.InvariantCulture) : "–";
        var bleu = string.Join(" / ", Columns.Select(a => Named(a) is { } r ? r.Beam.Bleu.ToString("F2", CultureInfo.InvariantCulture) : "–"));
        var beams = runs.Select(r => r.Beam.Beam).Distinct().ToList();
        var parameters = $"{Millions(transformer.Parameters)}; {Range([.. recurrent.Select(r => r.Parameters)])}";
        var m = set.Machine;
        return $"| [{name}]({name}/{LabRunner.ReportFile}) | {parameters} | {training} | {decoding} | {gruOverLstm} | {bleu} (beam {string.Join("/", beams)}) " +
               $"| {m.Cpu}, {m.Cores} cores, {m.DateUtc:yyyy-MM-dd}, {m.ShortCommit} |";
    }

    /// <summary>"**0.52** (GRU 5,012, Transformer 2,602)": the ratio in bold, then the recurrent and the Transformer figure.</summary>
    private static string Ratio(double transformer, double recurrent, string architecture) =>
        string.Create(CultureInfo.InvariantCulture, $"**{transformer / recurrent:F2}** ({architecture.ToUpperInvariant()} {recurrent:N0}, Transformer {transformer:N0})");

    private static string Millions(long parameters) => (parameters / 1e6).ToString("F2", CultureInfo.InvariantCulture) + " M";

    private static string Range(IReadOnlyList<long> parameters)
    {
        var (min, max) = (parameters.Min(), parameters.Max());
        return min == max ? $"recurrent {Millions(min)}" : string.Create(CultureInfo.InvariantCulture, $"recurrent {min / 1e6:F2}–{Millions(max)}");
    }
}
