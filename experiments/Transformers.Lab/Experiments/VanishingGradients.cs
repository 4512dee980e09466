using TorchSharp;
using Transformers.Lab.Runner;

namespace Transformers.Lab.Experiments;

/// <summary>
/// Experiment 4: ‖∂L/∂h_t‖ against the distance between t and the loss, for RNN, LSTM, GRU and the Transformer's
/// per-position states, at initialisation and after training on the delayed-recall <see cref="CopyTask"/>.
/// </summary>
public sealed class VanishingGradients : IExperiment
{
    /// <summary>Decades a gradient may lose over the sequence and still count as "not vanishing".</summary>
    public const double FlatDecades = 1.0;

    /// <summary>Decades lost over the sequence that count as "vanishing".</summary>
    public const double VanishingDecades = 2.0;

    /// <summary>Norms below this are float32 noise (or exact zeros); they are left out of the fits and plots.</summary>
    public const double Floor = 1e-30;

    public string Name => "vanishing-gradients";

    public string Claim =>
        "In a plain RNN the gradient reaching a state shrinks exponentially with its distance to the loss; LSTM and GRU gates keep it alive; a Transformer connects every position to the loss directly.";

    private sealed record Setup(int Delay, int ReferenceLstmHidden, TrainingBudget Budget, int Batch);

    /// <summary>Norms by distance (index = distance to the loss) and the fitted decay.</summary>
    public sealed record Curve(string Architecture, string Phase, int Width, long Parameters, double[] NormByDistance,
        double SlopeDecadesPerStep, double DecadesOverSequence, double? RecallAccuracy);

    public ExperimentResult Run(LabContext context)
    {
        var setup = context.Quick
            ? new Setup(Delay: 8, ReferenceLstmHidden: 8, new TrainingBudget(Steps: 8, Batch: 16), Batch: 8)
            : new Setup(Delay: 50, ReferenceLstmHidden: 64, new TrainingBudget(Steps: 1500, Batch: 64), Batch: 256);
        var task = new CopyTask(setup.Delay);
        long target;
        using (var reference = SequenceModel.Create(Architecture.Lstm, setup.ReferenceLstmHidden, task.Vocab, task.Length))
            target = reference.ParameterCount();
        var (probeIds, probeTargets) = task.Batch(setup.Batch, new Random(7));
        var lastTargets = probeTargets.select(1, task.Length - 1);                // [batch]: the last recalled symbol

        var curves = new List<Curve>();
        foreach (var architecture in Enum.GetValues<Architecture>())
        {
            torch.manual_seed(4);
            var width = architecture == Architecture.Lstm ? setup.ReferenceLstmHidden
                : SequenceModel.WidthForParameters(architecture, target, task.Vocab, task.Length);
            using var model = SequenceModel.Create(architecture, width, task.Vocab, task.Length);
            curves.Add(Measure(model, "initialisation", null));
            CopyTraining.Train(model, task, setup.Budget, new Random(4));
            var accuracy = CopyTraining.Accuracy(model, task, 512, new Random(1_000_004));
            curves.Add(Measure(model, "trained", accuracy));
            context.Log($"  {architecture,-11} width {width,4}: decades over the sequence at init {curves[^2].DecadesOverSequence:F2}, trained {curves[^1].DecadesOverSequence:F2} (recall accuracy {accuracy:F3})");
        }

        Curve Measure(SequenceModel model, string phase, double? accuracy)
        {
            model.eval();
            var norms = model.StateGradientNorms(probeIds, lastTargets).Reverse().ToArray(); // index = distance to the loss
            var slope = DecaySlope(norms);
            return new Curve(model.Architecture.Display(), phase, model.Width, model.ParameterCount(), norms, slope, -slope * (norms.Length - 2), accuracy);
        }

        var plots = new[] { "initialisation", "trained" }.Select(phase => context.Save(new LinePlot(
            $"‖∂L/∂h_t‖ vs distance to the loss ({phase}{(phase == "trained" ? $", copy task delay {setup.Delay}" : "")})",
            "distance between position t and the loss (time steps)", "gradient norm ‖∂L/∂h_t‖ (log scale)",
            curves.Where(c => c.Phase == phase).Select(c => new Series(c.Architecture,
                Enumerable.Range(0, c.NormByDistance.Length).Select(d => (double)d).ToArray(), c.NormByDistance.Select(v => v < Floor ? double.NaN : v).ToArray())).ToArray(),
            LogY: true), $"gradient_norms_{phase}.png", $"Gradient norm against distance, {phase}")).ToArray();

        var (verdict, text) = Decide(curves);
        var body = $"""
            ## Setup

            - Loss L: summed cross-entropy of the prediction at the **last** position (the last recalled symbol) over a probe batch of {setup.Batch} sequences of length {task.Length} (copy task, delay {setup.Delay}); each norm is the batch mean of ‖∂L/∂h_t‖₂.
            - h_t: the recurrent hidden state at t (one layer; computed step by step with the cell equations on the fused module's parameters, so the gradient flows back through the recurrence);
              for the Transformer ({TransformerTagger.Layers} layers, {TransformerTagger.Heads} heads) the per-position state entering layer 1 (embedding output).
            - Parameter counts matched to the LSTM of hidden {setup.ReferenceLstmHidden}. Training: the delayed-recall task, {setup.Budget.Steps} Adam steps of batch {setup.Budget.Batch}, learning rate {setup.Budget.LearningRate}.
            - Decay: least-squares slope of log10 ‖∂L/∂h_t‖ against distance over distances 1 .. {task.Length - 1} (distance 0, the state the loss reads directly, and norms below {Floor:G1} left out), times the span {task.Length - 2} = decades lost over the sequence.

            ## Decay per architecture

            {Markdown.Table(["architecture", "phase", "width", "parameters", "slope (decades/step)", "decades over the sequence", "norm at distance 0", "norm at the longest distance", "recall accuracy"],
                curves.Select(c => (IReadOnlyList<string>)[c.Architecture, c.Phase, c.Width.ToString(), c.Parameters.ToString(), c.SlopeDecadesPerStep.ToString("G3"),
                    c.DecadesOverSequence.ToString("F2"), c.NormByDistance[0].ToString("G3"), c.NormByDistance[^1].ToString("G3"), c.RecallAccuracy?.ToString("F3") ?? "-"]))}
            """;
        return new ExperimentResult(verdict, text,
            $"per phase (initialisation, trained): the RNN vanishes if it loses ≥ {VanishingDecades} decades over the sequence and more than LSTM and GRU; "
            + $"the Transformer is flat if it loses < {FlatDecades} decade. Supported if both hold in both phases; partly supported if at least one holds in one phase; else not supported.",
            plots, new { setup.Delay, setup.ReferenceLstmHidden, setup.Budget, ProbeBatch = setup.Batch, Curves = curves }, body);
    }

    /// <summary>
    /// Least-squares slope of log10(norm) against distance, over distances ≥ 1 with norms above <see cref="Floor"/>; NaN with
    /// fewer than 2 such points. Distance 0 (the state the loss reads directly) is left out: its gradient has a direct path in
    /// every architecture, and the claim is about the path back through time.
    /// </summary>
    public static double DecaySlope(IReadOnlyList<double> normByDistance)
    {
        var keep = Enumerable.Range(1, normByDistance.Count - 1).Where(d => normByDistance[d] > Floor).ToArray();
        return keep.Length < 2 ? double.NaN
            : Stats.Slope(keep.Select(d => (double)d).ToArray(), keep.Select(d => Math.Log10(normByDistance[d])).ToArray());
    }

    public static (Verdict, string) Decide(IReadOnlyList<Curve> curves)
    {
        int held = 0, possible = 0;
        var parts = new List<string>();
        foreach (var phase in curves.Select(c => c.Phase).Distinct())
        {
            double Decades(Architecture a) => curves.Single(c => c.Phase == phase && c.Architecture == a.Display()).DecadesOverSequence;
            var (rnn, lstm, gru, transformer) = (Decades(Architecture.Rnn), Decades(Architecture.Lstm), Decades(Architecture.Gru), Decades(Architecture.Transformer));
            var rnnVanishes = rnn >= VanishingDecades && rnn > lstm && rnn > gru;
            var transformerFlat = transformer < FlatDecades;
            held += (rnnVanishes ? 1 : 0) + (transformerFlat ? 1 : 0);
            possible += 2;
            parts.Add($"{phase}: decades lost RNN {rnn:F1}, LSTM {lstm:F1}, GRU {gru:F1}, Transformer {transformer:F1}");
        }
        var verdict = held == possible ? Verdict.Supported : held > 0 ? Verdict.PartlySupported : Verdict.NotSupported;
        return (verdict, string.Join("; ", parts));
    }
}
