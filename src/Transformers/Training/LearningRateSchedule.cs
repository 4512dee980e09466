using System.Text.Json.Serialization;

namespace Transformers.Training;

/// <summary>How the learning rate falls after warmup.</summary>
[JsonConverter(typeof(KebabCaseEnumConverter<LearningRateDecay>))]
public enum LearningRateDecay
{
    /// <summary>Straight line from the peak to <see cref="LearningRateSchedule.FinalFraction"/> · peak at the end of the budget.</summary>
    Linear,
    /// <summary>Half a cosine from the peak to <see cref="LearningRateSchedule.FinalFraction"/> · peak at the end of the budget (Loshchilov &amp; Hutter 2017).</summary>
    Cosine,
    /// <summary>peak · √(w / t) after a warmup of w (Vaswani et al. 2017 §5.3; fairseq's inverse_sqrt). Needs no budget.</summary>
    InverseSqrt,
    /// <summary>The peak for the whole run (after warmup, if any).</summary>
    Constant,
}

/// <summary>
/// The learning rate as a function of where a run is in its budget. A run on this machine sees hundreds to a few
/// thousand steps, not the 100k of the papers, so warmup and decay are defined over the budget the run was given — the
/// optimizer steps of <c>--max-steps</c> or the training seconds of <c>--minutes</c> — instead of fixed step counts:
/// a 5-minute and a 5-hour run both warm up over the first <see cref="WarmupFraction"/> of their budget and decay to
/// <see cref="FinalFraction"/> of the peak at its end.
/// <para>
/// <c>progress</c> ∈ [0, 1] is the share of the budget used (<see cref="TrainingBudget.Progress"/>). Warmup is linear:
/// in steps when <see cref="WarmupSteps"/> &gt; 0, else over the first <see cref="WarmupFraction"/> of progress. Linear
/// and cosine decay are functions of progress; inverse-sqrt of steps (or of progress, with a fractional warmup), so it
/// also works without a budget.
/// </para>
/// </summary>
public sealed record LearningRateSchedule
{
    /// <summary>The highest learning rate, reached at the end of warmup.</summary>
    public double PeakLearningRate { get; init; } = 1e-3;
    public LearningRateDecay Decay { get; init; } = LearningRateDecay.Linear;
    /// <summary>Warmup in optimizer steps (0: use <see cref="WarmupFraction"/>).</summary>
    public int WarmupSteps { get; init; }
    /// <summary>Warmup as a share of the budget, used when <see cref="WarmupSteps"/> is 0 (0 and 0: no warmup).</summary>
    public double WarmupFraction { get; init; } = 0.05;
    /// <summary>Linear and cosine decay end at this share of the peak when the budget is spent.</summary>
    public double FinalFraction { get; init; }

    public LearningRateSchedule Validate()
    {
        if (!(PeakLearningRate > 0) || !double.IsFinite(PeakLearningRate)) throw new ArgumentException($"learning rate {PeakLearningRate} must be a number > 0");
        if (!Enum.IsDefined(Decay)) throw new ArgumentException($"learning-rate decay {Decay} is not a decay kind");
        if (WarmupSteps < 0) throw new ArgumentException($"warmup {WarmupSteps} steps must be >= 0");
        if (WarmupFraction is < 0 or >= 1 || double.IsNaN(WarmupFraction)) throw new ArgumentException($"warmup fraction {WarmupFraction} must be in [0, 1)");
        if (FinalFraction is < 0 or > 1 || double.IsNaN(FinalFraction)) throw new ArgumentException($"final learning-rate fraction {FinalFraction} must be in [0, 1]");
        return this;
    }

    /// <summary>Whether the decay needs to know the budget (linear and cosine do; inverse-sqrt and constant do not).</summary>
    public bool NeedsBudget => Decay is LearningRateDecay.Linear or LearningRateDecay.Cosine || (WarmupSteps == 0 && WarmupFraction > 0);

    /// <summary>
    /// Learning rate of optimizer step <paramref name="step"/> (1-based) taken at <paramref name="progress"/> of the
    /// budget (null: the run has no budget; only step-based warmup and inverse-sqrt or constant decay then apply).
    /// </summary>
    public double At(long step, double? progress)
    {
        step = Math.Max(step, 1);
        double p = Math.Clamp(progress ?? 0, 0, 1);
        bool stepWarmup = WarmupSteps > 0;
        bool fractionWarmup = !stepWarmup && WarmupFraction > 0 && progress is not null;
        double warm = stepWarmup ? Math.Min(1.0, (double)step / WarmupSteps)
                    : fractionWarmup ? Math.Min(1.0, p / WarmupFraction)
                    : 1.0;
        double decay = Decay switch
        {
            LearningRateDecay.Constant => 1.0,
            LearningRateDecay.InverseSqrt when stepWarmup => Math.Sqrt(Math.Min(1.0, (double)WarmupSteps / step)),
            LearningRateDecay.InverseSqrt when fractionWarmup => p <= WarmupFraction ? 1.0 : Math.Sqrt(WarmupFraction / p),
            LearningRateDecay.InverseSqrt => 1.0 / Math.Sqrt(step),
            // Linear and cosine fall from the end of warmup (or from the start) to FinalFraction at progress 1.
            _ when progress is null => 1.0,
            _ => Falling(p),
        };
        return PeakLearningRate * warm * decay;
    }

    private double Falling(double p)
    {
        double start = WarmupSteps == 0 ? WarmupFraction : 0;
        if (p <= start) return 1.0;
        double x = (p - start) / (1 - start);                                  // 0 at the end of warmup, 1 at the end of the budget
        double shape = Decay == LearningRateDecay.Cosine ? 0.5 * (1 + Math.Cos(Math.PI * x)) : 1 - x;
        return FinalFraction + (1 - FinalFraction) * shape;
    }

    /// <summary>One line for logs: "linear decay to 0, peak 1.0e-003, warmup 5 % of the budget".</summary>
    public override string ToString()
    {
        string warm = WarmupSteps > 0 ? $"warmup {WarmupSteps} steps" : WarmupFraction > 0 ? $"warmup {WarmupFraction:P0} of the budget" : "no warmup";
        string decay = Decay switch
        {
            LearningRateDecay.Linear or LearningRateDecay.Cosine => $"{Decay.ToString().ToLowerInvariant()} decay to {(FinalFraction == 0 ? "0" : $"{FinalFraction:0.##}× peak")} at the end of the budget",
            LearningRateDecay.InverseSqrt => "inverse-sqrt decay",
            _ => "constant",
        };
        return $"peak {PeakLearningRate:G3}, {warm}, {decay}";
    }
}

/// <summary>
/// The limits of a run and how far it is through them. Progress is the largest of steps / max steps, seconds /
/// max seconds and epochs / max epochs over the limits that are set; null when none is.
/// </summary>
public sealed record TrainingBudget(long MaxSteps, double MaxSeconds, int MaxEpochs)
{
    public bool IsBounded => MaxSteps > 0 || MaxSeconds > 0 || MaxEpochs > 0;

    /// <summary>The limit a run has reached after <paramref name="step"/> steps, <paramref name="seconds"/> of training and <paramref name="epochs"/> complete epochs; null if none.</summary>
    public TrainingOutcome? Reached(long step, double seconds, int epochs) =>
        MaxSteps > 0 && step >= MaxSteps ? TrainingOutcome.StepLimit
        : MaxSeconds > 0 && seconds >= MaxSeconds ? TrainingOutcome.TimeLimit
        : MaxEpochs > 0 && epochs >= MaxEpochs ? TrainingOutcome.Completed
        : null;

    /// <param name="step">optimizer steps taken</param>
    /// <param name="seconds">training seconds so far</param>
    /// <param name="epochs">epochs completed, with the current one's fraction (e.g. 1.25)</param>
    public double? Progress(long step, double seconds, double epochs)
    {
        if (!IsBounded) return null;
        double p = 0;
        if (MaxSteps > 0) p = Math.Max(p, (double)step / MaxSteps);
        if (MaxSeconds > 0) p = Math.Max(p, seconds / MaxSeconds);
        if (MaxEpochs > 0) p = Math.Max(p, epochs / MaxEpochs);
        return Math.Min(p, 1.0);
    }
}
