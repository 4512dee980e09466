using System.Text.Json.Serialization;

namespace Transformers.Lab.Runner;

/// <summary>
/// One claim of the lab, measured. An experiment gets a <see cref="LabContext"/> (quick or full size, output folder,
/// machine stamp, plotting) and returns its raw numbers, its plots and a verdict computed from the numbers.
/// The runner writes <c>results.json</c>, <c>summary.json</c> and <c>report.md</c> beside the plots.
/// To add an experiment: implement this interface and list the class in <see cref="LabRunner.Experiments"/>.
/// </summary>
public interface IExperiment
{
    /// <summary>Folder and command-line name, kebab-case (e.g. "gru-vs-lstm").</summary>
    string Name { get; }

    /// <summary>The claim being tested, one sentence, as it is usually stated.</summary>
    string Claim { get; }

    /// <summary>Measures. Plots are saved through <see cref="LabContext.Save"/>; everything else goes in the result.</summary>
    ExperimentResult Run(LabContext context);
}

/// <summary>What the numbers say about the claim. Decided by a rule in code, never by hand.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Verdict>))]
public enum Verdict
{
    Supported,
    PartlySupported,
    NotSupported,
    /// <summary>The run cannot decide (e.g. nothing learned within the budget, or the spreads overlap everywhere).</summary>
    Inconclusive,
}

/// <summary>A saved plot: file name inside the experiment's folder and a one-line caption.</summary>
public sealed record PlotFile(string FileName, string Caption);

/// <summary>
/// An experiment's outcome. <paramref name="Raw"/> is serialised as is into results.json (records of numbers);
/// <paramref name="Rule"/> states the verdict rule in words (the code that applies it sits in the experiment);
/// <paramref name="Body"/> is the Markdown of the report below the standard header (setup, tables, reading).
/// </summary>
public sealed record ExperimentResult(
    Verdict Verdict,
    string VerdictText,
    string Rule,
    IReadOnlyList<PlotFile> Plots,
    object Raw,
    string Body);

/// <summary>The row of the results table, written as summary.json in each experiment's folder.</summary>
public sealed record ExperimentSummary(
    string Name,
    string Claim,
    Verdict Verdict,
    string VerdictText,
    IReadOnlyList<PlotFile> Plots,
    MachineStamp Machine,
    bool Quick);
