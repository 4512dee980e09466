using TorchSharp;
using Transformers.Lab.Runner;

namespace Transformers.Lab.Experiments;

/// <summary>
/// Experiment 5: accuracy on the delayed-recall <see cref="CopyTask"/> against the delay, for RNN, LSTM, GRU and a
/// Transformer encoder of (nearly) equal parameter counts, each trained from scratch at every delay with the same budget.
/// </summary>
public sealed class LongMemory : IExperiment
{
    /// <summary>Accuracy that counts as "remembers" (chance is 1/8).</summary>
    public const double Threshold = 0.9;

    public string Name => "long-memory";

    public string Claim =>
        "LSTM and GRU remember across long delays where a plain RNN forgets; a Transformer, attending to every position directly, has no such distance limit.";

    private sealed record Setup(int[] Delays, int ReferenceLstmHidden, TrainingBudget Budget, int TestSamples);

    public sealed record Point(string Architecture, int Delay, int Width, long Parameters, double FinalLoss, double Accuracy);

    public ExperimentResult Run(LabContext context)
    {
        var setup = context.Quick
            ? new Setup([4, 8], ReferenceLstmHidden: 8, new TrainingBudget(Steps: 8, Batch: 16), TestSamples: 64)
            : new Setup([5, 10, 20, 50, 100, 200], ReferenceLstmHidden: 64, new TrainingBudget(Steps: 1500, Batch: 64), TestSamples: 1024);
        var points = new List<Point>();
        foreach (var delay in setup.Delays)
        {
            var task = new CopyTask(delay);
            long target;
            using (var reference = SequenceModel.Create(Architecture.Lstm, setup.ReferenceLstmHidden, task.Vocab, task.Length))
                target = reference.ParameterCount();
            foreach (var architecture in Enum.GetValues<Architecture>())
            {
                torch.manual_seed(delay);
                var width = architecture == Architecture.Lstm ? setup.ReferenceLstmHidden
                    : SequenceModel.WidthForParameters(architecture, target, task.Vocab, task.Length);
                using var model = SequenceModel.Create(architecture, width, task.Vocab, task.Length);
                var loss = CopyTraining.Train(model, task, setup.Budget, new Random(delay));
                var accuracy = CopyTraining.Accuracy(model, task, setup.TestSamples, new Random(1_000_000 + delay));
                points.Add(new Point(architecture.Display(), delay, width, model.ParameterCount(), loss, accuracy));
                context.Log($"  delay {delay,4} {architecture,-11} width {width,4} params {model.ParameterCount(),7} loss {loss:F3} accuracy {accuracy:F3}");
            }
        }

        var horizons = Enum.GetValues<Architecture>().ToDictionary(a => a, a => Horizon(points.Where(p => p.Architecture == a.Display()), setup.Delays));
        var (verdict, text) = Decide(horizons);
        var plot = context.Save(new LinePlot(
            "Delayed recall: accuracy vs delay (equal parameters, equal training budget)",
            "delay between a symbol and its recall (time steps, log scale)", "recall accuracy (fraction of symbols)",
            Enum.GetValues<Architecture>().Select(a => new Series(a.Display(),
                points.Where(p => p.Architecture == a.Display()).Select(p => (double)p.Delay).ToArray(),
                points.Where(p => p.Architecture == a.Display()).Select(p => p.Accuracy).ToArray())).ToArray(),
            LogX: true, HorizontalLine: new CopyTask(setup.Delays[0]).Chance, HorizontalLineLabel: "chance", YLimits: (-0.02, 1.02)),
            "accuracy_vs_delay.png", "Recall accuracy against delay, per architecture");

        var body = $"""
            ## Setup

            - Task: {new CopyTask(setup.Delays[0]).Items} symbols from an alphabet of {new CopyTask(setup.Delays[0]).Symbols}, recalled after a delay of d steps (sequence length d + 3); delays {string.Join(", ", setup.Delays)}.
            - Models: embedding -> encoder -> linear head. RNN/LSTM/GRU: one unidirectional layer, embedding width = hidden size.
              Transformer: BERT encoder, {TransformerTagger.Layers} layers, {TransformerTagger.Heads} heads, dFf = 2 dModel, learned positions, no dropout.
              Parameter counts matched to the LSTM of hidden {setup.ReferenceLstmHidden} (closest width; counts per point below).
            - Budget, the same for all: {setup.Budget.Steps} Adam steps of batch {setup.Budget.Batch}, learning rate {setup.Budget.LearningRate}, gradient norm clipped at {setup.Budget.ClipNorm}; no tuning per architecture.
            - Scored on {setup.TestSamples} fresh sequences. Memory horizon = the longest delay up to which every tested delay reaches accuracy {Threshold}.

            ## Memory horizons

            {Markdown.Table(["architecture", "horizon (steps)"], horizons.Select(h => (IReadOnlyList<string>)[h.Key.Display(), h.Value.ToString()]))}
            ## Every point

            {Markdown.Table(["architecture", "delay", "width", "parameters", "final training loss", "accuracy"],
                points.Select(p => (IReadOnlyList<string>)[p.Architecture, p.Delay.ToString(), p.Width.ToString(), p.Parameters.ToString(), p.FinalLoss.ToString("F3"), p.Accuracy.ToString("F3")]))}
            """;
        return new ExperimentResult(verdict, text,
            $"horizon(a) = longest delay d such that accuracy ≥ {Threshold} at every tested delay ≤ d (0 if none). Inconclusive if every horizon is 0; "
            + "supported if min(LSTM, GRU) > RNN and Transformer ≥ max(LSTM, GRU); partly supported if LSTM or GRU or the Transformer beats the RNN; else not supported.",
            [plot], new { setup.Delays, setup.ReferenceLstmHidden, setup.Budget, setup.TestSamples, Threshold, Horizons = horizons.ToDictionary(h => h.Key.Display(), h => h.Value), Points = points },
            body);
    }

    /// <summary>The longest delay up to which accuracy stays ≥ <see cref="Threshold"/> at every tested delay; 0 if none.</summary>
    public static int Horizon(IEnumerable<Point> points, IReadOnlyList<int> delays)
    {
        var accuracy = points.ToDictionary(p => p.Delay, p => p.Accuracy);
        var horizon = 0;
        foreach (var d in delays.Order())
        {
            if (accuracy[d] < Threshold) break;
            horizon = d;
        }
        return horizon;
    }

    public static (Verdict, string) Decide(IReadOnlyDictionary<Architecture, int> h)
    {
        var summary = string.Join(", ", h.Select(p => $"{p.Key.Display()} {p.Value}"));
        if (h.Values.All(v => v == 0))
            return (Verdict.Inconclusive, $"no architecture reached accuracy {Threshold} at the shortest delay within the budget (horizons: {summary})");
        var (rnn, lstm, gru, transformer) = (h[Architecture.Rnn], h[Architecture.Lstm], h[Architecture.Gru], h[Architecture.Transformer]);
        var text = $"memory horizons in steps: {summary}";
        if (Math.Min(lstm, gru) > rnn && transformer >= Math.Max(lstm, gru)) return (Verdict.Supported, text);
        if (lstm > rnn || gru > rnn || transformer > rnn) return (Verdict.PartlySupported, text);
        return (Verdict.NotSupported, text);
    }
}
