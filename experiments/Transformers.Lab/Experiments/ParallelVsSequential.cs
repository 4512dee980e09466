using TorchSharp;
using Transformers.Bert;
using Transformers.Lab.Runner;
using Transformers.Recurrent;
using static TorchSharp.torch;

namespace Transformers.Lab.Experiments;

/// <summary>
/// Experiment 2: encoder forward latency against sequence length, batch 1 and a large batch, for a Transformer encoder
/// (every position at once) and LSTM/GRU encoders (fused kernels, one step after another) of the same width and depth.
/// </summary>
public sealed class ParallelVsSequential : IExperiment
{
    public string Name => "parallel-vs-sequential";

    public string Claim =>
        "A Transformer encoder, processing every position at once, is faster than an LSTM/GRU stepping through the positions one after another, until attention's quadratic cost takes over at long lengths.";

    private sealed record Setup(int Width, int Layers, int Heads, int[] Lengths, int[] Batches, int Warmup, int Runs);

    public sealed record Point(string Encoder, int Batch, int Length, TimingStats Latency);

    /// <summary>Lengths where the Transformer's and a recurrent encoder's median latencies cross (log-log interpolation).</summary>
    public sealed record Crossover(string Recurrent, int Batch, double[] Lengths);

    /// <summary>
    /// Fit of the Transformer's latency t(L) = a + b L + c L² (ms). QuadraticTakesOver = b / c, the length where c L² reaches
    /// b L; 0 when b ≤ 0 &lt; c (quadratic from the start); NaN when c ≤ 0 (no quadratic term measurable).
    /// </summary>
    public sealed record QuadraticFit(int Batch, double A, double B, double C, double QuadraticTakesOver)
    {
        public string Describe() => double.IsNaN(QuadraticTakesOver) ? "never (c ≤ 0)"
            : QuadraticTakesOver == 0 ? "from the shortest length (b ≤ 0)" : $"L≈{QuadraticTakesOver:F0}";
    }

    private const int Vocab = 1000;

    public ExperimentResult Run(LabContext context)
    {
        var setup = context.Quick
            ? new Setup(Width: 16, Layers: 1, Heads: 2, Lengths: [8, 16, 32], Batches: [1, 4], Warmup: 1, Runs: 3)
            : new Setup(Width: 256, Layers: 2, Heads: 4, Lengths: [16, 32, 64, 128, 256, 512], Batches: [1, 64], Warmup: 2, Runs: 7);
        var encoders = new (string Name, Func<nn.Module<Tensor, Tensor>> Build)[]
        {
            ("Transformer", () => new BertEncoderOnly(setup.Width, setup.Layers, setup.Heads, setup.Lengths.Max())),
            ("LSTM", () => new RecurrentEncoder(RecurrentCellKind.Lstm, setup.Width, setup.Layers)),
            ("GRU", () => new RecurrentEncoder(RecurrentCellKind.Gru, setup.Width, setup.Layers)),
        };
        var points = new List<Point>();
        var parameters = new Dictionary<string, long>();
        foreach (var (name, build) in encoders)
        {
            torch.manual_seed(2);
            using var encoder = build();
            encoder.eval();
            parameters[name] = encoder.parameters().Sum(p => p.numel());
            foreach (var batch in setup.Batches)
                foreach (var length in setup.Lengths)
                {
                    using var ids = randint(1, Vocab, [batch, length]);
                    var latency = TimingStats.Measure(() =>
                    {
                        using var noGrad = no_grad();
                        using var scope = NewDisposeScope();
                        encoder.forward(ids);
                    }, setup.Warmup, setup.Runs);
                    points.Add(new Point(name, batch, length, latency));
                    context.Log($"  {name,-11} batch {batch,3} length {length,4}: {latency}");
                }
        }

        var crossovers = new List<Crossover>();
        var fits = new List<QuadraticFit>();
        var plots = new List<PlotFile>();
        foreach (var batch in setup.Batches)
        {
            TimingStats[] Curve(string encoder) => setup.Lengths.Select(l => points.Single(p => p.Encoder == encoder && p.Batch == batch && p.Length == l).Latency).ToArray();
            var transformer = Curve("Transformer");
            foreach (var recurrent in new[] { "LSTM", "GRU" })
                crossovers.Add(new Crossover(recurrent, batch, Crossings(setup.Lengths, transformer, Curve(recurrent))));
            fits.Add(FitQuadratic(batch, setup.Lengths, transformer));
            var markers = crossovers.Where(c => c.Batch == batch).SelectMany(c => c.Lengths.Select(l => new Marker(l, $"= {c.Recurrent} at {l:F0}")))
                .Append(new Marker(fits[^1].QuadraticTakesOver, $"cL² = bL at {fits[^1].QuadraticTakesOver:F0}")).Where(m => double.IsFinite(m.X) && m.X > 0).ToArray();
            plots.Add(context.Save(new LinePlot(
                $"Encoder forward latency, batch {batch} (no_grad; median, bars = IQR)",
                "sequence length (tokens, log scale)", "latency per forward (ms, log scale)",
                encoders.Select(e => TimingSeries(e.Name, setup.Lengths, Curve(e.Name))).ToArray(),
                LogX: true, LogY: true, Markers: markers), $"latency_batch{batch}.png", $"Forward latency against length, batch {batch}"));
        }

        var (verdict, text, clearWins, total) = Decide(points, setup.Lengths, setup.Batches, fits, crossovers);
        var body = $"""
            ## Setup

            - Same width and depth for all three: dModel = hidden = {setup.Width}, {setup.Layers} layers. Transformer: BERT encoder (post-LN), {setup.Heads} heads, dFf = 4 dModel, learned positions.
              LSTM/GRU: token embedding + unidirectional fused `nn.LSTM`/`nn.GRU` stack (TorchSharp's native kernels, no padding).
              Parameters: {string.Join(", ", parameters.Select(p => $"{p.Key} {p.Value:N0}"))} (the Transformer's count and time include BERT's pooler, one dModel x dModel layer on the first position).
            - Latency of one forward under `no_grad`, random token ids, float32, CPU; {setup.Warmup} warm-up calls, then the median of {setup.Runs} timed calls; error bars show the interquartile range.
            - Lengths {string.Join(", ", setup.Lengths)}; batches {string.Join(", ", setup.Batches)}.

            ## Where each wins

            The Transformer is clearly faster (its IQR below both recurrent IQRs) at {clearWins} of {total} (length, batch) points.

            {Markdown.Table(["batch", "length", "Transformer", "LSTM", "GRU", "Transformer / LSTM", "Transformer / GRU"],
                setup.Batches.SelectMany(b => setup.Lengths.Select(l =>
                {
                    double M(string e) => points.Single(p => p.Encoder == e && p.Batch == b && p.Length == l).Latency.MedianMs;
                    string S(string e) => points.Single(p => p.Encoder == e && p.Batch == b && p.Length == l).Latency.ToString();
                    return (IReadOnlyList<string>)[b.ToString(), l.ToString(), S("Transformer"), S("LSTM"), S("GRU"), (M("Transformer") / M("LSTM")).ToString("F2"), (M("Transformer") / M("GRU")).ToString("F2")];
                })))}
            ## Crossovers and the quadratic term

            {Markdown.Table(["batch", "Transformer = LSTM at length", "Transformer = GRU at length", "fit a + bL + cL² (ms)", "cL² = bL at length"],
                setup.Batches.Select(b =>
                {
                    string X(string r) => crossovers.Single(c => c.Batch == b && c.Recurrent == r).Lengths is { Length: > 0 } ls ? string.Join(", ", ls.Select(l => l.ToString("F0"))) : "none in range";
                    var f = fits.Single(f => f.Batch == b);
                    return (IReadOnlyList<string>)[b.ToString(), X("LSTM"), X("GRU"), $"{f.A:G3} + {f.B:G3} L + {f.C:G3} L²", f.Describe()];
                }))}
            """;
        return new ExperimentResult(verdict, text,
            "A (parallel wins): the Transformer is clearly faster than both LSTM and GRU (IQRs apart) at ≥ half of the (length, batch) points. "
            + "B (quadratic takes over): at every batch, log(Transformer/recurrent median) grows with log length for LSTM and GRU (positive least-squares slope) "
            + "and the fitted quadratic term c of t(L) = a + bL + cL² is positive. Supported if A and B; partly supported if one; else not supported.",
            plots, new { setup.Width, setup.Layers, setup.Heads, setup.Warmup, setup.Runs, Parameters = parameters, Points = points, Crossovers = crossovers, Fits = fits },
            body);
    }

    /// <summary>Medians against x with the interquartile range as the spread.</summary>
    public static Series TimingSeries(string name, IReadOnlyList<int> xs, IReadOnlyList<TimingStats> timings) => new(name,
        xs.Select(x => (double)x).ToArray(), timings.Select(t => t.MedianMs).ToArray(), timings.Select(t => t.Q1Ms).ToArray(), timings.Select(t => t.Q3Ms).ToArray());

    /// <summary>Lengths where median(a) - median(b) changes sign between neighbouring lengths, interpolated in log-log.</summary>
    public static double[] Crossings(IReadOnlyList<int> lengths, IReadOnlyList<TimingStats> a, IReadOnlyList<TimingStats> b)
    {
        var gap = Enumerable.Range(0, lengths.Count).Select(i => Math.Log(a[i].MedianMs / b[i].MedianMs)).ToArray();
        var found = new List<double>();
        for (var i = 0; i + 1 < lengths.Count; i++)
        {
            if (gap[i] == 0) found.Add(lengths[i]);
            else if (Math.Sign(gap[i]) * Math.Sign(gap[i + 1]) < 0)
            {
                var (x0, x1) = (Math.Log(lengths[i]), Math.Log(lengths[i + 1]));
                found.Add(Math.Exp(x0 + (x1 - x0) * gap[i] / (gap[i] - gap[i + 1])));
            }
        }
        return found.ToArray();
    }

    public static QuadraticFit FitQuadratic(int batch, IReadOnlyList<int> lengths, IReadOnlyList<TimingStats> latency)
    {
        var c = Stats.LeastSquares(lengths.Select(l => (double)l).ToArray(), latency.Select(t => t.MedianMs).ToArray(), _ => 1, l => l, l => l * l);
        var takesOver = c[2] > 0 ? Math.Max(c[1], 0) / c[2] : double.NaN;
        return new QuadraticFit(batch, c[0], c[1], c[2], takesOver);
    }

    private static (Verdict, string, int ClearWins, int Total) Decide(IReadOnlyList<Point> points, int[] lengths, int[] batches,
        IReadOnlyList<QuadraticFit> fits, IReadOnlyList<Crossover> crossovers)
    {
        TimingStats At(string e, int b, int l) => points.Single(p => p.Encoder == e && p.Batch == b && p.Length == l).Latency;
        var clearWins = batches.Sum(b => lengths.Count(l =>
            At("Transformer", b, l).ClearlyFasterThan(At("LSTM", b, l)) && At("Transformer", b, l).ClearlyFasterThan(At("GRU", b, l))));
        var total = batches.Length * lengths.Length;
        var parallelWins = 2 * clearWins >= total;
        var slopes = batches.SelectMany(b => new[] { "LSTM", "GRU" }.Select(r => Stats.Slope(
            lengths.Select(l => Math.Log(l)).ToArray(), lengths.Select(l => Math.Log(At("Transformer", b, l).MedianMs / At(r, b, l).MedianMs)).ToArray()))).ToArray();
        var quadraticTakesOver = slopes.All(s => s > 0) && fits.All(f => f.C > 0);
        var verdict = parallelWins && quadraticTakesOver ? Verdict.Supported
            : parallelWins || quadraticTakesOver ? Verdict.PartlySupported : Verdict.NotSupported;
        var crossings = string.Join("; ", crossovers.Select(c => $"batch {c.Batch} vs {c.Recurrent}: "
            + (c.Lengths.Length > 0 ? string.Join(", ", c.Lengths.Select(l => $"L≈{l:F0}")) : "none")));
        var text = $"Transformer clearly faster at {clearWins}/{total} points; Transformer/recurrent ratio slope vs length {string.Join(", ", slopes.Select(s => s.ToString("F2")))}; "
            + $"crossovers {crossings}; quadratic term reaches the linear one at " + string.Join(", ", fits.Select(f => $"{f.Describe()} (batch {f.Batch})"));
        return (verdict, text, clearWins, total);
    }

    /// <summary>A BERT encoder without dropout: ids [batch, seq] -> last hidden state [batch, seq, dModel].</summary>
    private sealed class BertEncoderOnly : nn.Module<Tensor, Tensor>
    {
        private readonly BertModel bert;

        public BertEncoderOnly(int dModel, int layers, int heads, int maxLength) : base(nameof(BertEncoderOnly))
        {
            bert = new BertModel(new BertConfig
            {
                VocabSize = Vocab, HiddenSize = dModel, NumHiddenLayers = layers, NumAttentionHeads = heads, IntermediateSize = 4 * dModel,
                MaxPositionEmbeddings = maxLength, HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0,
            });
            RegisterComponents();
        }

        public override Tensor forward(Tensor ids) => bert.Forward(ids).LastHiddenState;
    }

    /// <summary>Token embedding + a fused unidirectional stack: ids [batch, seq] -> [batch, seq, hidden].</summary>
    private sealed class RecurrentEncoder : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Embedding embedding;
        private readonly RecurrentStack stack;

        public RecurrentEncoder(RecurrentCellKind cell, int hidden, int layers) : base(nameof(RecurrentEncoder))
        {
            embedding = nn.Embedding(Vocab, hidden);
            stack = new RecurrentStack(new RecurrentConfig(cell, InputSize: hidden, HiddenSize: hidden, NumLayers: layers));
            RegisterComponents();
        }

        public override Tensor forward(Tensor ids) => stack.Run(embedding.forward(ids), path: RecurrentPath.Fused).Output;
    }
}
