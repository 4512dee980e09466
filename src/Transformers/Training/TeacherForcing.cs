namespace Transformers.Training;

/// <summary>
/// What a step-by-step (recurrent) decoder reads in training: the reference token y_{t-1} (teacher forcing), or with
/// probability 1 − ratio a token drawn from its own prediction at t-1 (Bengio et al. 2015, scheduled sampling). A
/// training knob, owned by the trainer: the model is told the ratio before each step
/// (<see cref="Translation.Seq2SeqModel.TeacherForcingRatio"/>) and saves none of it.
/// </summary>
/// <param name="Ratio">The chance of the reference token, in [0, 1]; 1 is plain teacher forcing.</param>
/// <param name="ScheduleK">
/// When k &gt; 0, the ratio decays with the optimizer step i as Ratio · k / (k + exp(i / k)) (§2.4's inverse sigmoid);
/// i is <see cref="TrainerState.Step"/>, so a resumed run continues the schedule where it stopped. 0: a constant ratio.
/// </param>
public sealed record TeacherForcing(double Ratio = 1.0, double ScheduleK = 0)
{
    /// <summary>Every decoder input is the reference (the default, and what evaluation always does).</summary>
    public static TeacherForcing Always { get; } = new();

    /// <summary>Whether some decoder inputs may be the model's own draws.</summary>
    public bool Samples => Ratio < 1 || ScheduleK > 0;

    /// <summary>The ratio at optimizer step <paramref name="step"/> (0 for the first step).</summary>
    public double RatioAt(long step) => ScheduleK > 0 ? Ratio * ScheduleK / (ScheduleK + Math.Exp(step / ScheduleK)) : Ratio;

    public TeacherForcing Validate()
    {
        if (Ratio is not (>= 0 and <= 1)) throw new ArgumentException($"teacher forcing ratio {Ratio} must be in [0, 1]");
        if (!(ScheduleK >= 0) || !double.IsFinite(ScheduleK)) throw new ArgumentException($"scheduled sampling k {ScheduleK} must be a finite number >= 0 (0: off)");
        return this;
    }
}
