using TorchSharp;
using Transformers.Lab.Runner;
using Transformers.Recurrent;
using static TorchSharp.torch;

namespace Transformers.Lab.Experiments;

/// <summary>
/// Experiment 3: "GRU has fewer tensor operations, hence it is faster than LSTM": time at equal hidden size and at equal
/// parameter count, on the gate-level and fused paths, forward and forward+backward, beside analytic FLOP counts.
/// </summary>
public sealed class GruVsLstm : IExperiment
{
    public string Name => "gru-vs-lstm";

    public string Claim => "A GRU has fewer tensor operations than an LSTM, hence it is faster.";

    private sealed record Setup(int Input, int Hidden, int Batch, int SeqLen, int Warmup, int Runs);

    public enum Mode { Forward, ForwardBackward }

    public sealed record Point(string Model, RecurrentCellKind Cell, int Hidden, long Parameters, RecurrentPath Path, Mode Mode,
        TimingStats Time, double Flops, double GflopsPerSecond);

    /// <summary>One comparison: GRU vs the LSTM at one sizing, path and mode.</summary>
    public sealed record Comparison(string Sizing, RecurrentPath Path, Mode Mode, double TimeRatio, double FlopRatio, string Outcome);

    public ExperimentResult Run(LabContext context)
    {
        var setup = context.Quick
            ? new Setup(Input: 16, Hidden: 16, Batch: 4, SeqLen: 8, Warmup: 1, Runs: 3)
            : new Setup(Input: 256, Hidden: 256, Batch: 64, SeqLen: 64, Warmup: 2, Runs: 9);
        var lstmParameters = CellFlops.Parameters(RecurrentCellKind.Lstm, setup.Input, setup.Hidden);
        var gruHiddenForParameters = Enumerable.Range(1, 4 * setup.Hidden)
            .MinBy(h => Math.Abs(CellFlops.Parameters(RecurrentCellKind.Gru, setup.Input, h) - lstmParameters));
        var models = new (string Name, RecurrentCellKind Cell, int Hidden)[]
        {
            ("LSTM", RecurrentCellKind.Lstm, setup.Hidden),
            ("GRU, equal hidden", RecurrentCellKind.Gru, setup.Hidden),
            ("GRU, equal parameters", RecurrentCellKind.Gru, gruHiddenForParameters),
        };
        var points = new List<Point>();
        foreach (var (name, cell, hidden) in models)
        {
            torch.manual_seed(3);
            using var stack = new RecurrentStack(new RecurrentConfig(cell, setup.Input, hidden));
            using var input = randn(setup.Batch, setup.SeqLen, setup.Input);                   // [batch, seq, input]
            var counted = stack.parameters().Sum(p => p.numel());
            if (counted != CellFlops.Parameters(cell, setup.Input, hidden))
                throw new InvalidOperationException($"{name}: the model has {counted} parameters, the formula says {CellFlops.Parameters(cell, setup.Input, hidden)}");
            foreach (var path in new[] { RecurrentPath.Fused, RecurrentPath.GateLevel })
                foreach (var mode in Enum.GetValues<Mode>())
                {
                    var time = TimingStats.Measure(() => Call(stack, input, path, mode), setup.Warmup, setup.Runs);
                    var perToken = mode == Mode.Forward ? CellFlops.Forward(cell, setup.Input, hidden) : CellFlops.ForwardBackward(cell, setup.Input, hidden);
                    var flops = perToken * setup.Batch * setup.SeqLen;
                    points.Add(new Point(name, cell, hidden, counted, path, mode, time, flops, flops / (time.MedianMs * 1e6)));
                    context.Log($"  {name,-22} {path,-9} {mode,-15}: {time}");
                }
        }

        var comparisons = new List<Comparison>();
        foreach (var (sizing, gru) in new[] { ("equal hidden", models[1].Name), ("equal parameters", models[2].Name) })
            foreach (var path in new[] { RecurrentPath.Fused, RecurrentPath.GateLevel })
                foreach (var mode in Enum.GetValues<Mode>())
                {
                    var l = points.Single(p => p.Model == "LSTM" && p.Path == path && p.Mode == mode);
                    var g = points.Single(p => p.Model == gru && p.Path == path && p.Mode == mode);
                    var outcome = g.Time.ClearlyFasterThan(l.Time) ? "GRU faster" : l.Time.ClearlyFasterThan(g.Time) ? "LSTM faster" : "tie (IQRs overlap)";
                    comparisons.Add(new Comparison(sizing, path, mode, g.Time.MedianMs / l.Time.MedianMs, g.Flops / l.Flops, outcome));
                }

        var categories = new[] { RecurrentPath.Fused, RecurrentPath.GateLevel }.SelectMany(path => Enum.GetValues<Mode>().Select(mode => (path, mode))).ToArray();
        var plot = context.Save(new BarPlot(
            $"LSTM vs GRU: time per call (batch {setup.Batch}, {setup.SeqLen} steps, input {setup.Input}; median, bars = IQR)",
            "time per call (ms)",
            categories.Select(c => $"{c.path} {(c.mode == Mode.Forward ? "forward" : "fwd+bwd")}").ToArray(),
            models.Select(m =>
            {
                var times = categories.Select(c => points.Single(p => p.Model == m.Name && p.Path == c.path && p.Mode == c.mode).Time).ToArray();
                return ($"{m.Name} (hidden {m.Hidden})", times.Select(t => t.MedianMs).ToArray(), times.Select(t => t.Q1Ms).ToArray(), times.Select(t => t.Q3Ms).ToArray());
            }).ToArray()), "time_per_call.png", "Time per call of LSTM and GRU, per path and mode");

        var (verdict, text) = Decide(comparisons);
        var body = $"""
            ## Setup

            - One unidirectional layer, batch {setup.Batch}, {setup.SeqLen} time steps, input {setup.Input}, float32, CPU, no padding.
              LSTM hidden {setup.Hidden}; GRU hidden {setup.Hidden} (equal hidden size) and {gruHiddenForParameters} (equal parameter count:
              {CellFlops.Parameters(RecurrentCellKind.Gru, setup.Input, gruHiddenForParameters):N0} vs the LSTM's {lstmParameters:N0}).
            - Paths: `Fused` = TorchSharp's native `nn.LSTM`/`nn.GRU`; `GateLevel` = the textbook equations of `LstmCell.Step`/`GruCell.Step`, one step at a time, on the same parameters.
            - Modes: `Forward` under `no_grad`; `ForwardBackward` = forward, loss = mean(output²), backward (no optimizer step).
            - {setup.Warmup} warm-up calls, then the median of {setup.Runs} timed calls; bars show the interquartile range.

            ## FLOPs, counted analytically (per time step and sequence; i = input, h = hidden)

            {CellFlops.Explanation}

            ## Every timing

            {Markdown.Table(["model", "hidden", "parameters", "path", "mode", "time", "FLOPs per call", "GFLOP/s"],
                points.Select(p => (IReadOnlyList<string>)[p.Model, p.Hidden.ToString(), p.Parameters.ToString("N0"), p.Path.ToString(), p.Mode.ToString(), p.Time.ToString(), p.Flops.ToString("G3"), p.GflopsPerSecond.ToString("F2")]))}
            ## GRU against LSTM

            {Markdown.Table(["sizing", "path", "mode", "GRU / LSTM time", "GRU / LSTM FLOPs", "outcome"],
                comparisons.Select(c => (IReadOnlyList<string>)[c.Sizing, c.Path.ToString(), c.Mode.ToString(), c.TimeRatio.ToString("F2"), c.FlopRatio.ToString("F2"), c.Outcome]))}
            """;
        return new ExperimentResult(verdict, text,
            "Outcome per comparison: 'GRU faster' when the GRU's IQR lies below the LSTM's, 'LSTM faster' the other way, else a tie. "
            + "Supported if the GRU is faster in all 4 comparisons at equal hidden size and slower in none at equal parameter count; "
            + "not supported if it is faster in at most 1 of the 4 at equal hidden size; else partly supported.",
            [plot], new { setup.Input, setup.Hidden, setup.Batch, setup.SeqLen, setup.Warmup, setup.Runs, GruHiddenForEqualParameters = gruHiddenForParameters, Points = points, Comparisons = comparisons },
            body);
    }

    private static void Call(RecurrentStack stack, Tensor input, RecurrentPath path, Mode mode)
    {
        using var scope = NewDisposeScope();
        if (mode == Mode.Forward)
        {
            using var noGrad = no_grad();
            stack.Run(input, path: path);
            return;
        }
        stack.zero_grad();
        stack.Run(input, path: path).Output.pow(2).mean().backward();
    }

    public static (Verdict, string) Decide(IReadOnlyList<Comparison> comparisons)
    {
        int Count(string sizing, string outcome) => comparisons.Count(c => c.Sizing == sizing && c.Outcome == outcome);
        var fasterAtEqualHidden = Count("equal hidden", "GRU faster");
        var slowerAtEqualParameters = Count("equal parameters", "LSTM faster");
        var verdict = fasterAtEqualHidden == 4 && slowerAtEqualParameters == 0 ? Verdict.Supported
            : fasterAtEqualHidden <= 1 ? Verdict.NotSupported : Verdict.PartlySupported;
        string Ratios(string sizing) => string.Join(", ", comparisons.Where(c => c.Sizing == sizing).Select(c => $"{c.Path} {c.Mode} {c.TimeRatio:F2}"));
        var flopRatio = comparisons.First(c => c.Sizing == "equal hidden").FlopRatio;
        return (verdict, $"equal hidden: GRU faster in {fasterAtEqualHidden}/4, time GRU/LSTM {Ratios("equal hidden")} (FLOPs {flopRatio:F2}); "
            + $"equal parameters: GRU faster in {Count("equal parameters", "GRU faster")}/4, slower in {slowerAtEqualParameters}/4, time GRU/LSTM {Ratios("equal parameters")}");
    }
}

/// <summary>
/// Analytic operation counts of one cell step for one sequence (multiply and add each count as one FLOP; a sigmoid or
/// tanh counts as one elementwise operation). G = gate blocks: LSTM 4 (i, f, g, o), GRU 3 (r, z, n).
/// </summary>
public static class CellFlops
{
    /// <summary>Elementwise operations per hidden unit per step, after the two matrix products (see <see cref="Explanation"/>).</summary>
    public static int Elementwise(RecurrentCellKind cell) => cell switch
    {
        // 4 pre-activation sums X+H, σ(i), σ(f), tanh(g), σ(o), f⊙c, i⊙g, their sum, tanh(c), o⊙tanh(c)
        RecurrentCellKind.Lstm => 13,
        // 2 sums for r, z; σ(r), σ(z); r⊙(W_hn h + b_hn); + W_in x; tanh(n); z⊙h; 1 - z; (1-z)⊙n; the sum
        RecurrentCellKind.Gru => 11,
        RecurrentCellKind.Rnn => 2, // the sum X+H, tanh
        _ => throw new ArgumentOutOfRangeException(nameof(cell)),
    };

    /// <summary>Tensor operations (kernel calls) per step on the gate-level path, as written in Cells.cs.</summary>
    public static int TensorOps(RecurrentCellKind cell) => cell switch
    {
        RecurrentCellKind.Lstm => 17, // 2 linear, 2 chunk, 5 add, 3 mul, 3 sigmoid, 2 tanh
        RecurrentCellKind.Gru => 15,  // 2 linear, 2 chunk, 4 add, 1 rsub, 3 mul, 2 sigmoid, 1 tanh
        RecurrentCellKind.Rnn => 4,   // 2 linear, 1 add, 1 tanh
        _ => throw new ArgumentOutOfRangeException(nameof(cell)),
    };

    /// <summary>Forward FLOPs per step and sequence: 2 G h (i + h) for the two products, 2 G h for the two biases, plus the elementwise work.</summary>
    public static double Forward(RecurrentCellKind cell, int input, int hidden)
    {
        var g = RecurrentCell.GateCount(cell);
        return 2.0 * g * hidden * (input + hidden) + 2.0 * g * hidden + Elementwise(cell) * (double)hidden;
    }

    /// <summary>Forward + backward ≈ 3 × forward (the backward of a product costs two products: input and weight gradients).</summary>
    public static double ForwardBackward(RecurrentCellKind cell, int input, int hidden) => 3 * Forward(cell, input, hidden);

    /// <summary>Parameters of one layer: G h (i + h) weights and 2 G h biases (PyTorch keeps b_ih and b_hh).</summary>
    public static long Parameters(RecurrentCellKind cell, int input, int hidden)
    {
        long g = RecurrentCell.GateCount(cell);
        return g * hidden * (input + hidden) + 2 * g * hidden;
    }

    public const string Explanation = """
        | cell | matrix products | biases | elementwise per unit | tensor ops per step (gate-level) |
        |---|---|---|---|---|
        | LSTM (G = 4) | 2·4h(i+h) | 2·4h | 13: 4 sums, σ(i), σ(f), tanh(g), σ(o), f⊙c, i⊙g, +, tanh(c), o⊙tanh(c) | 17: 2 linear, 2 chunk, 5 add, 3 mul, 3 sigmoid, 2 tanh |
        | GRU (G = 3) | 2·3h(i+h) | 2·3h | 11: 2 sums, σ(r), σ(z), r⊙(W_hn h+b_hn), +, tanh(n), z⊙h, 1−z, (1−z)⊙n, + | 15: 2 linear, 2 chunk, 4 add, 1 rsub, 3 mul, 2 sigmoid, 1 tanh |

        At equal i and h the GRU does 3/4 of the LSTM's matrix work; at equal parameter count (larger GRU h) the matrix work is about equal
        and only the elementwise count and the number of tensor operations differ. Forward+backward is counted as 3 × forward.
        """;
}
