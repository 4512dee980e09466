using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using TorchSharp;
using Transformers.Lab.Runner;
using Transformers.Recurrent;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Lab.Experiments;

/// <summary>
/// Issue 15: the workloads of the plain PyTorch reference (<c>../shared/reference/seq2seq_throughput.py</c>, its README's
/// "The workloads"), built from our modules, timed beside the reference script in the same run: reference, ours,
/// reference, ours (A B A B), same threads. Vocabulary 8,000, 256-wide embeddings, untied output layer, batch 64, source =
/// target length L; the post-LN Transformer d256 / 4 heads / 3+3 / ff 1024; LSTM, GRU and RNN with Luong "general"
/// attention, 2 + 2 layers of 256, a step loop with input feeding (<c>lstm</c>) or one recurrent call over the target
/// (<c>lstm_fused</c>); a training step is forward, mean cross-entropy, backward and Adam (lr 1e-4); greedy decoding is
/// L argmax steps with no early stop, through our cached seam (the reference's Transformer re-runs the prefix).
/// <para>
/// Where ours differs by construction (same FLOP model, a few parameters apart): a source embedding table of its own
/// (the reference shares one table between encoder and decoder inputs; lookups cost no FLOPs), no bias on the output
/// layer, no final LayerNorms in the post-LN Transformer, and the recurrent decoder's initial state through a bridge
/// (one 256 × 256 product per layer and sentence) where the reference passes the encoder's final state.
/// </para>
/// <c>reference-workloads [--rounds N] [--lengths 16,32,64,128] [--models a,b] [--threads N] [--out DIR]
/// [--reference DIR] [--python PATH] [--ours-only]</c>
/// </summary>
public static class ReferenceWorkloads
{
    public static readonly string[] AllModels = ["transformer", "lstm", "lstm_fused", "gru", "gru_fused", "rnn", "rnn_fused"];
    private const int Vocab = 8000, Batch = 64, Width = 256, Bos = 1;

    /// <summary>
    /// One (model, length) of one side and round; times in ms (medians), tokens/s from them; ProbeGflops: the GEMM probe
    /// taken just before the row (the reference's <c>gemm_probe</c>: a 1024² float32 product on the same threads).
    /// </summary>
    public sealed record Row(string Model, int Length, long Parameters, double TrainMs, double TrainTokensPerSecond,
                             double? Decode64Ms, double? Decode64TokensPerSecond, double Decode1Ms, double? ProbeGflops = null);

    public sealed record Round(string Side, int Number, DateTime StartUtc, double Seconds, List<Row> Rows);

    public sealed record Options(int Rounds = 2, int[]? Lengths = null, string[]? Models = null, int Threads = 2, string? Output = null,
                                 string Reference = "../shared/reference", string Python = "/usr/bin/python3", bool OursOnly = false);

    public static int Run(Options options)
    {
        var script = Path.Combine(options.Reference, "seq2seq_throughput.py");
        if (!options.OursOnly && !File.Exists(script))
        {
            Console.Error.WriteLine($"error: {script} not found: give --reference DIR (the folder of the plain PyTorch reference) or --ours-only");
            return 1;
        }
        TorchRuntime.EnsureLoaded();
        set_num_threads(options.Threads);
        var lengths = options.Lengths ?? [16, 32, 64, 128];
        var models = options.Models ?? AllModels;
        var output = options.Output ?? Path.Combine(Program.DefaultOutputRoot(), "reference-workloads");
        Directory.CreateDirectory(output);
        var rounds = new List<Round>();
        for (int r = 1; r <= options.Rounds; r++)
        {
            if (!options.OursOnly) rounds.Add(RunReference(script, options, models, lengths, r, output));
            rounds.Add(RunOurs(models, lengths, r));
        }
        var stamp = MachineStamp.Take(options.Threads);
        File.WriteAllText(Path.Combine(output, "results.json"), JsonSerializer.Serialize(new { Machine = stamp, Options = options, Rounds = rounds }, new JsonSerializerOptions { WriteIndented = true }));
        var plots = Plots(rounds, models, output, stamp);
        File.WriteAllText(Path.Combine(output, "report.md"), Report(rounds, models, lengths, options, stamp, plots));
        Console.WriteLine($"results in {output}");
        return 0;
    }

    // ------------------------------------------------------------------ ours

    /// <summary>The reference's model <paramref name="name"/> from our modules.</summary>
    public static Seq2SeqModel Build(string name)
    {
        if (name == "transformer")
            return new TransformerTranslator(new TransformerConfig
            {
                VocabSize = Vocab, DModel = Width, NumHeads = 4, EncoderLayers = 3, DecoderLayers = 3, DFf = 1024, Dropout = 0.1,
                Norm = NormPosition.Post, TieEmbeddings = false, MaxLength = 256, PadId = 0, BosId = Bos, EosId = 2, UnkId = 3,
            });
        var (kind, fused) = (name.Split('_')[0], name.EndsWith("_fused", StringComparison.Ordinal));
        var cell = kind switch
        {
            "lstm" => RecurrentCellKind.Lstm,
            "gru" => RecurrentCellKind.Gru,
            "rnn" => RecurrentCellKind.Rnn,
            _ => throw new ArgumentException($"unknown model '{name}' (known: {string.Join(", ", AllModels)})"),
        };
        return new RecurrentTranslator(new RecurrentTranslatorConfig
        {
            VocabSize = Vocab, Cell = cell, Attention = RecurrentAttention.LuongGeneral, EmbeddingSize = Width, HiddenSize = Width,
            BidirectionalEncoder = false, NumLayers = 2, InputFeeding = !fused, Dropout = 0.1, TieEmbeddings = false,
            Initialization = RecurrentInitialization.PyTorch, PadId = 0, BosId = Bos, EosId = 2, UnkId = 3,
        });
    }

    /// <summary>(warm-up, timed) calls as the reference's <c>iters_for</c> chooses them.</summary>
    private static (int Warmup, int Runs) Iterations(string kind, int length, string model)
    {
        var (w, n) = kind switch
        {
            "decode64" => (1, 3),
            _ => length <= 32 ? (2, 5) : (1, 3),
        };
        if (kind == "decode64" && model == "transformer" && length >= 64) n = 2;
        return (w, n);
    }

    private static Round RunOurs(string[] models, int[] lengths, int number)
    {
        var start = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        var rows = new List<Row>();
        foreach (var name in models)
        {
            manual_seed(0);
            using var model = Build(name);
            long parameters = model.parameters().Sum(p => p.numel());
            using var optimizer = optim.Adam(model.parameters(), 1e-4);
            foreach (var length in lengths)
            {
                var probe = GemmProbe();
                using var generator = new Generator((ulong)(1234 + length));
                using var src = randint(4, Vocab, [Batch, length], generator: generator, dtype: ScalarType.Int64);
                using var tgt = randint(4, Vocab, [Batch, length + 1], generator: generator, dtype: ScalarType.Int64);
                tgt[.., 0].fill_(Bos);
                using var tgtIn = tgt[.., ..^1].contiguous();
                using var tgtOut = tgt[.., 1..].contiguous();
                using var mask = ones([Batch, length], ScalarType.Bool);
                model.train();
                void TrainStep()
                {
                    using var scope = NewDisposeScope();
                    optimizer.zero_grad();
                    var logits = model.Forward(src, mask, tgtIn);
                    var loss = nn.functional.cross_entropy(logits.view(-1, Vocab), tgtOut.view(-1));
                    loss.backward();
                    optimizer.step();
                    loss.item<float>();                                                   // as the reference's loss.item()
                }
                var (w, n) = Iterations("train", length, name);
                var train = TimingStats.Measure(TrainStep, w, n);
                (w, n) = Iterations("decode64", length, name);
                var decode64 = TimingStats.Measure(() => Greedy(model, src, length), w, n);
                (w, n) = Iterations("decode1", length, name);
                using var src1 = src[..1].contiguous();
                var decode1 = TimingStats.Measure(() => Greedy(model, src1, length), w, n);
                var row = new Row(name, length, parameters, train.MedianMs, Batch * length / train.MedianMs * 1000,
                                  decode64.MedianMs, Batch * length / decode64.MedianMs * 1000, decode1.MedianMs, probe);
                rows.Add(row);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  ours round {number} {name,-12} L={length,4}  train {row.TrainMs,8:F1} ms {row.TrainTokensPerSecond,8:F0} tok/s | dec64 {row.Decode64Ms,8:F1} ms | dec1 {row.Decode1Ms,7:F1} ms  (probe {probe:F0} GF/s)"));
            }
        }
        return new Round("ours", number, start, clock.Elapsed.TotalSeconds, rows);
    }

    /// <summary>
    /// The reference's <c>gemm_probe</c> on our side: GFLOP/s of a 1024 × 1024 float32 product (median of 5 after 2
    /// warm-ups), on its own generator so that it leaves the global one alone. Said beside the reference's, it tells
    /// whether a ratio measures the implementations or the matrix kernels each side links.
    /// </summary>
    private static double GemmProbe(int n = 1024)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(7);
        var (a, b) = (randn([n, n], generator: generator), randn([n, n], generator: generator));
        var time = TimingStats.Measure(() => { using var _ = a.mm(b); }, 2, 5);
        return 2.0 * n * n * n / (time.MedianMs * 1e6);
    }

    /// <summary>Encode once, then exactly <paramref name="steps"/> argmax steps through the seam (no early stop), eval mode, no gradients.</summary>
    private static void Greedy(Seq2SeqModel model, Tensor src, int steps)
    {
        bool training = model.training;
        model.eval();
        try
        {
            using var mask = ones(src.shape, ScalarType.Bool);
            Throughput.GreedySteps(model, src, mask, steps);
        }
        finally
        {
            model.train(training);
        }
    }

    // ------------------------------------------------------------------ the reference

    private static Round RunReference(string script, Options options, string[] models, int[] lengths, int number, string output)
    {
        var json = Path.Combine(output, $"reference-round{number}.json");
        var start = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        var info = new ProcessStartInfo(options.Python)
        {
            ArgumentList = { script, "--models", string.Join(",", models), "--lengths", string.Join(",", lengths), "--threads", options.Threads.ToString(CultureInfo.InvariantCulture), "--out", json },
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {options.Python}");
        while (process.StandardOutput.ReadLine() is { } line) Console.WriteLine($"  reference round {number}: {line}");
        process.WaitForExit();
        if (process.ExitCode != 0 || !File.Exists(json))
            throw new InvalidOperationException($"the reference ({script}) exited with {process.ExitCode} and wrote no {json}; is python3-torch installed? (../shared/reference/README.md)");
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().Select(r => new Row(
            r.GetProperty("model").GetString()!, r.GetProperty("L").GetInt32(), r.GetProperty("params").GetInt64(),
            r.GetProperty("train_ms").GetDouble(), r.GetProperty("train_tok_s").GetDouble(),
            r.TryGetProperty("dec64_ms", out var d) ? d.GetDouble() : null, r.TryGetProperty("dec64_tok_s", out var dt) ? dt.GetDouble() : null,
            r.GetProperty("dec1_ms").GetDouble(), r.TryGetProperty("probe_gflops_before", out var p) ? p.GetDouble() : null)).ToList();
        return new Round("reference", number, start, clock.Elapsed.TotalSeconds, rows);
    }

    // ------------------------------------------------------------------ report

    /// <summary>The median over rounds of one side's value at (model, length); null when no round has it.</summary>
    private static double? Median(IEnumerable<Round> rounds, string side, string model, int length, Func<Row, double?> value)
        => MedianOf(rounds.Where(r => r.Side == side).SelectMany(r => r.Rows).Where(x => x.Model == model && x.Length == length).Select(value));

    /// <summary>The median over every row of one side of its GEMM probe; null when no row has one.</summary>
    private static double? ProbeMedian(IEnumerable<Round> rounds, string side) =>
        MedianOf(rounds.Where(r => r.Side == side).SelectMany(r => r.Rows).Select(x => x.ProbeGflops));

    private static double? MedianOf(IEnumerable<double?> values)
    {
        var known = values.Where(v => v.HasValue).Select(v => v!.Value).Order().ToArray();
        return known.Length == 0 ? null : Stats.Quantile(known, 0.5);
    }

    private static List<PlotFile> Plots(List<Round> rounds, string[] models, string output, MachineStamp stamp)
    {
        var plots = new List<PlotFile>();
        foreach (var (measure, title, pick) in new (string, string, Func<Row, double?>)[]
                 {
                     ("train", "Training target tokens/s, batch 64 (ours: solid names; reference: \"(ref)\")", r => r.TrainTokensPerSecond),
                     ("decode64", "Greedy decoding tokens/s, batch 64", r => r.Decode64TokensPerSecond),
                 })
        {
            var series = new List<Series>();
            foreach (var side in new[] { "ours", "reference" })
                foreach (var model in models)
                {
                    var points = rounds.Where(r => r.Side == side).SelectMany(r => r.Rows).Where(x => x.Model == model).Select(x => x.Length).Distinct().Order()
                        .Select(l => (L: l, Y: Median(rounds, side, model, l, pick))).Where(p => p.Y.HasValue).ToList();
                    if (points.Count > 0)
                        series.Add(new Series(side == "ours" ? model : $"{model} (ref)", points.Select(p => (double)p.L).ToArray(), points.Select(p => p.Y!.Value).ToArray()));
                }
            var file = $"{measure}_tokens_per_second.png";
            PlotRenderer.Save(new LinePlot(title, "length L (source = target)", "tokens/s", series, LogX: true, LogY: true), stamp, Path.Combine(output, file));
            plots.Add(new PlotFile(file, title));
        }
        return plots;
    }

    private static string Report(List<Round> rounds, string[] models, int[] lengths, Options options, MachineStamp stamp, List<PlotFile> plots)
    {
        string F(double? v, string format = "N0") => v?.ToString(format, CultureInfo.InvariantCulture) ?? "n/a";
        string Ratio(double? ours, double? reference) => ours is { } o && reference is { } r && r > 0 ? (o / r).ToString("F2", CultureInfo.InvariantCulture) + "×" : "n/a";
        var md = new StringBuilder();
        md.AppendLine("# Our implementation against the plain PyTorch reference, on the reference's workloads (issue 15)").AppendLine();
        md.AppendLine($"**Machine.** {stamp.Cpu}, {stamp.Cores} cores, {options.Threads} thread(s) each side, {stamp.DateUtc:yyyy-MM-dd HH:mm} UTC, commit `{stamp.ShortCommit}`. " +
                      $"Rounds: {string.Join(", ", rounds.Select(r => $"{r.Side} {r.Number} ({r.StartUtc:HH:mm}, {r.Seconds:F0} s)"))}; each figure is the median over rounds " +
                      "of each side's median time. Ratios are ours / reference in tokens per second (> 1: ours faster).").AppendLine();
        var (oursProbe, referenceProbe) = (ProbeMedian(rounds, "ours"), ProbeMedian(rounds, "reference"));
        if (oursProbe is not null || referenceProbe is not null)
            md.AppendLine($"**Matrix kernels.** The reference's GEMM probe (a 1024² float32 product on the same threads, taken before every row; median): " +
                          $"ours {F(oursProbe)} GFLOP/s, the reference's {F(referenceProbe)} GFLOP/s" +
                          (oursProbe is not null && referenceProbe is not null
                              ? $" — ours at {Ratio(oursProbe, referenceProbe)} the reference's. Where that is far from 1, the ratios below measure the BLAS each side links as much as the implementations."
                              : ".")).AppendLine();
        md.AppendLine("Reproduce: `dotnet run -c Release --project experiments/Transformers.Lab -- reference-workloads` (needs `python3-torch` and the OpenBLAS link of " +
                      "`../shared/reference/setup_openblas.sh`; nothing else may run meanwhile).").AppendLine();
        foreach (var p in plots) md.AppendLine($"![{p.Caption}]({p.FileName})").AppendLine();
        md.AppendLine("## Per model and length").AppendLine();
        md.AppendLine(Markdown.Table(
            ["model", "L", "parameters ours / ref", "train tok/s ours", "ref", "ratio", "decode b64 tok/s ours", "ref", "ratio", "decode b1 ms ours", "ref", "ratio"],
            models.SelectMany(m => lengths.Select(l => (IReadOnlyList<string>)
            [
                m, l.ToString(CultureInfo.InvariantCulture),
                $"{F(Median(rounds, "ours", m, l, r => r.Parameters))} / {F(Median(rounds, "reference", m, l, r => r.Parameters))}",
                F(Median(rounds, "ours", m, l, r => r.TrainTokensPerSecond)), F(Median(rounds, "reference", m, l, r => r.TrainTokensPerSecond)),
                Ratio(Median(rounds, "ours", m, l, r => r.TrainTokensPerSecond), Median(rounds, "reference", m, l, r => r.TrainTokensPerSecond)),
                F(Median(rounds, "ours", m, l, r => r.Decode64TokensPerSecond)), F(Median(rounds, "reference", m, l, r => r.Decode64TokensPerSecond)),
                Ratio(Median(rounds, "ours", m, l, r => r.Decode64TokensPerSecond), Median(rounds, "reference", m, l, r => r.Decode64TokensPerSecond)),
                F(Median(rounds, "ours", m, l, r => r.Decode1Ms), "F1"), F(Median(rounds, "reference", m, l, r => r.Decode1Ms), "F1"),
                Ratio(Median(rounds, "reference", m, l, r => r.Decode1Ms), Median(rounds, "ours", m, l, r => r.Decode1Ms)),
            ]))));
        md.AppendLine("## Targets (issue 15, item 3)").AppendLine();
        var targets = new List<(string Target, IEnumerable<(string Model, int L, Func<Row, double?> Pick, bool Time)> Points, double Goal)>
        {
            ("training, Transformer ≥ 1.2×", lengths.Select(l => ("transformer", l, (Func<Row, double?>)(r => r.TrainTokensPerSecond), false)), 1.2),
            ("training, fused recurrent ≥ 1.0×", models.Where(m => m.EndsWith("_fused", StringComparison.Ordinal)).SelectMany(m => lengths.Select(l => (m, l, (Func<Row, double?>)(r => r.TrainTokensPerSecond), false))), 1.0),
            ("training, step-loop recurrent ≥ 1.0×", models.Where(m => m != "transformer" && !m.EndsWith("_fused", StringComparison.Ordinal)).SelectMany(m => lengths.Select(l => (m, l, (Func<Row, double?>)(r => r.TrainTokensPerSecond), false))), 1.0),
            ("greedy decoding b64, Transformer at L ≥ 32 ≥ 3×", lengths.Where(l => l >= 32).Select(l => ("transformer", l, (Func<Row, double?>)(r => r.Decode64TokensPerSecond), false)), 3.0),
            ("greedy decoding b64, recurrent ≥ 1.0×", models.Where(m => m != "transformer").SelectMany(m => lengths.Select(l => (m, l, (Func<Row, double?>)(r => r.Decode64TokensPerSecond), false))), 1.0),
            ("greedy decoding b1, recurrent ≥ 1.0× (time)", models.Where(m => m != "transformer").SelectMany(m => lengths.Select(l => (m, l, (Func<Row, double?>)(r => r.Decode1Ms), true))), 1.0),
        };
        foreach (var (target, points, goal) in targets)
        {
            var ratios = points.Select(p =>
            {
                var (o, r) = (Median(rounds, "ours", p.Model, p.L, p.Pick), Median(rounds, "reference", p.Model, p.L, p.Pick));
                return o is { } ov && r is { } rv && ov > 0 && rv > 0 ? (p.Model, p.L, Ratio: p.Time ? rv / ov : ov / rv) : ((string Model, int L, double Ratio)?)null;
            }).Where(x => x.HasValue).Select(x => x!.Value).ToList();
            if (ratios.Count == 0) { md.AppendLine($"- {target}: not measured."); continue; }
            var worst = ratios.MinBy(x => x.Ratio);
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"- {target}: **{(worst.Ratio >= goal ? "reached" : "not reached")}** — lowest {worst.Ratio:F2}× ({worst.Model}, L={worst.L}); {ratios.Count(x => x.Ratio >= goal)} of {ratios.Count} points at the goal."));
        }
        md.AppendLine().AppendLine("Differences by construction are listed in `ReferenceWorkloads`'s summary (experiments/Transformers.Lab/Experiments/ReferenceWorkloads.cs).");
        return md.ToString();
    }
}
