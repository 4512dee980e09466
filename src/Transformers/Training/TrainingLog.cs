using System.Text.Json;
using System.Text.Json.Serialization;

namespace Transformers.Training;

/// <summary>
/// One line of a run's <c>train.jsonl</c>: an optimizer step (<c>"type": "step"</c>) or an evaluation (<c>"eval"</c>).
/// Written and read by the same record, so the trainer and the tools that read its logs agree on every name.
/// NaN and infinities are null (JSON cannot hold them).
/// </summary>
public sealed record TrainingLogLine
{
    public const string StepType = "step", EvalType = "eval";

    [JsonPropertyName("type")] public string Type { get; init; } = "";
    public long Step { get; init; }
    public int Epoch { get; init; }
    // A step's:
    public double? Loss { get; init; }
    public double? Nll { get; init; }
    public long? Tokens { get; init; }
    public double? LearningRate { get; init; }
    public double? GradNorm { get; init; }
    public double? TokensPerSecond { get; init; }
    public double ElapsedSeconds { get; init; }
    // An evaluation's:
    public long? TargetTokens { get; init; }
    public double? DevLoss { get; init; }
    public double? DevPerplexity { get; init; }
    public double? DevBleu { get; init; }
    [JsonPropertyName("improved")] public bool? Improved { get; init; }
    /// <summary>The process's peak resident set size at the evaluation (bytes).</summary>
    public long? PeakRssBytes { get; init; }

    public static TrainingLogLine Of(StepRecord r) => new()
    {
        Type = StepType, Step = r.Step, Epoch = r.Epoch, Loss = Finite(r.Loss), Nll = Finite(r.Nll), Tokens = r.Tokens, LearningRate = r.LearningRate,
        GradNorm = Finite(r.GradNorm), TokensPerSecond = r.TokensPerSecond, ElapsedSeconds = r.ElapsedSeconds,
    };

    public static TrainingLogLine Of(EvalRecord r, bool improved, long peakRssBytes) => new()
    {
        Type = EvalType, Step = r.Step, Epoch = r.Epoch, ElapsedSeconds = r.ElapsedSeconds, TargetTokens = r.TargetTokens, DevLoss = Finite(r.DevLoss),
        DevPerplexity = Finite(r.DevPerplexity), DevBleu = r.DevBleu is { } b ? Finite(b) : null, Improved = improved, PeakRssBytes = peakRssBytes,
    };

    /// <summary>The step record this line holds (NaN where the log has null).</summary>
    public StepRecord ToStep() => new(Step, Epoch, Loss ?? double.NaN, Nll ?? double.NaN, Tokens ?? 0, LearningRate ?? double.NaN, GradNorm ?? double.NaN,
                                      TokensPerSecond ?? double.NaN, ElapsedSeconds);

    /// <summary>The evaluation record this line holds (NaN where the log has null).</summary>
    public EvalRecord ToEval() => new(Step, Epoch, ElapsedSeconds, TargetTokens ?? 0, DevLoss ?? double.NaN, DevPerplexity ?? double.NaN, DevBleu);

    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>A line of the log; null for one that is not a complete record (the tail a kill cut short).</summary>
    public static TrainingLogLine? Parse(string line)
    {
        if (string.IsNullOrWhiteSpace(line)) return null;
        try
        {
            return JsonSerializer.Deserialize<TrainingLogLine>(line, Json) is { Type: StepType or EvalType } record ? record : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Every step and evaluation of a log, in order; an unreadable line is an error naming the file and line.</summary>
    public static (List<StepRecord> Steps, List<(EvalRecord Eval, long? PeakRssBytes)> Evals) ReadAll(string path)
    {
        var steps = new List<StepRecord>();
        var evals = new List<(EvalRecord, long?)>();
        int number = 0;
        foreach (var text in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            var line = Parse(text) ?? throw new InvalidDataException($"{path}:{number}: not a training log record");
            if (line.Type == StepType) steps.Add(line.ToStep());
            else evals.Add((line.ToEval(), line.PeakRssBytes));
        }
        return (steps, evals);
    }

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;
}
