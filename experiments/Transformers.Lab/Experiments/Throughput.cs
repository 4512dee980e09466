using System.Text.Json;
using TorchSharp;
using Transformers.Lab.Runner;
using Transformers.Recurrent;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Lab.Experiments;

/// <summary>
/// Experiment 1: training target tokens/s (batch 64) and greedy decoding tokens/s (batch 1 and 64) against length, for
/// the Transformer and the LSTM, GRU and RNN seq2seq translators of matched parameter counts, with the peak memory of
/// every point; plus the model FLOP/s of one training step at batch 64 × 32 against the fp32 matmul ceiling measured in
/// the same run, and (full run) the `Base` Transformer's training tokens/s at lengths 16-128.
/// </summary>
public sealed class Throughput : IExperiment
{
    public string Name => "throughput";

    public string Claim =>
        "Transformers train and translate faster than recurrent seq2seq models of the same size, because they process the positions of a sequence in parallel.";

    /// <param name="Runs">timed training steps per point</param>
    /// <param name="DecodeRuns">timed decodings per point: more than training steps, since they are short and a batch-1 decoding's
    /// median over 3 calls was moved by one slow call (a 3-call run of 2026-12-07 had two points at 1.7× their neighbours' time per step)</param>
    private sealed record Setup(string Preset, int Vocab, int TrainBatch, int[] Lengths, int[] DecodeBatches, int[] BaseLengths, int Warmup, int Runs, int DecodeRuns, int FlopsLength);

    /// <param name="TokensPerSecond">median target tokens/s (from the median time)</param>
    /// <param name="PeakBytes">resident memory added at the peak of one timed call (null: not measurable)</param>
    public sealed record Point(string Model, string Measure, int Batch, int Length, TimingStats Time, double TokensPerSecond, double TokensPerSecondLow, double TokensPerSecondHigh, long? PeakBytes);

    public sealed record Skipped(string Model, string Measure, int Batch, int Length, string Reason);

    public sealed record FlopRate(string Model, double FlopsPerStep, double MedianMs, double GflopPerSecond, double PercentOfMatmul);

    /// <summary>Bahdanau's training intermediate tanh(W_q s_t + W_k h_s), [batch, tgt, src, attention] floats, above which a point is skipped.</summary>
    private const long AttentionIntermediateLimitBytes = 3L << 30;

    public ExperimentResult Run(LabContext context)
    {
        var setup = context.Quick
            ? new Setup("tiny", Vocab: 200, TrainBatch: 4, Lengths: [4, 8], DecodeBatches: [1, 4], BaseLengths: [], Warmup: 1, Runs: 3, DecodeRuns: 3, FlopsLength: 8)
            : new Setup("small", Vocab: 8000, TrainBatch: 64, Lengths: [16, 32, 64, 128, 256], DecodeBatches: [1, 64], BaseLengths: [16, 32, 64, 128], Warmup: 1, Runs: 3, DecodeRuns: 9, FlopsLength: 32);
        var models = Models(setup.Preset, setup.Vocab);
        var points = new List<Point>();
        var skipped = new List<Skipped>();
        var parameters = new Dictionary<string, long>();
        var flops = new List<FlopRate>();

        var ceiling = MatmulCeiling(context.Quick ? 256 : 2048, setup.Warmup + 1, context.Quick ? 3 : 7);
        context.Log($"  fp32 matmul ceiling: {ceiling.GflopPerSecond:F1} GFLOP/s ({ceiling.Size}², {ceiling.Time})");

        foreach (var (name, build) in models)
        {
            torch.manual_seed(3);
            using var model = build();
            parameters[name] = model.parameters().Sum(p => p.numel());
            foreach (var length in setup.Lengths)
            {
                var reason = TooBig(model, setup.TrainBatch, length);
                if (reason is not null) { skipped.Add(new Skipped(name, "train", setup.TrainBatch, length, reason)); context.Log($"  {name,-11} train  length {length,4}: skipped ({reason})"); continue; }
                var p = MeasureTraining(name, model, setup.TrainBatch, length, setup.Warmup, setup.Runs);
                points.Add(p);
                context.Log($"  {name,-11} train  length {length,4}: {p.TokensPerSecond,9:N0} tok/s {p.Time} peak {Mib(p.PeakBytes)}");
                if (length == setup.FlopsLength)
                {
                    double f = TrainingFlops(model, setup.TrainBatch, length);
                    flops.Add(new FlopRate(name, f, p.Time.MedianMs, f / p.Time.MedianMs / 1e6, 100 * f / p.Time.MedianMs / 1e6 / ceiling.GflopPerSecond));
                }
            }
            foreach (var batch in setup.DecodeBatches)
                foreach (var length in setup.Lengths)
                {
                    var p = MeasureDecoding(name, model, batch, length, setup.Warmup, setup.DecodeRuns);
                    points.Add(p);
                    context.Log($"  {name,-11} decode batch {batch,3} length {length,4}: {p.TokensPerSecond,9:N0} tok/s {p.Time} peak {Mib(p.PeakBytes)}");
                }
        }
        foreach (var length in setup.BaseLengths)
        {
            torch.manual_seed(3);
            using var model = new TransformerTranslator(TransformerConfig.Base(setup.Vocab));
            parameters["Transformer Base"] = model.parameters().Sum(p => p.numel());
            var p = MeasureTraining("Transformer Base", model, setup.TrainBatch, length, setup.Warmup, setup.Runs);
            points.Add(p);
            context.Log($"  Transformer Base train length {length,4}: {p.TokensPerSecond,9:N0} tok/s {p.Time} peak {Mib(p.PeakBytes)}");
        }

        var names = models.Select(m => m.Name).ToArray();
        var plots = Plots(points, names, setup.TrainBatch, setup.DecodeBatches, (plot, file, caption) => context.Save(plot, file, caption));

        var (verdict, text) = Decide(points, skipped, names, setup);
        var transformerFlops = flops.FirstOrDefault(f => f.Model == "Transformer");
        var body = $"""
            ## Setup

            - Models: the `{setup.Preset}` presets of the translators, vocabulary {setup.Vocab:N0} (tied embeddings, identical in every model), dropout as in the presets;
              recurrent models with Bahdanau attention, trained on the fused path. Parameters: {string.Join(", ", parameters.Select(p => $"{p.Key} {p.Value:N0}"))}.
            - Training: one optimizer step (forward, label-smoothed cross-entropy, backward, clipping, AdamW) at batch {setup.TrainBatch}, source and target both `length` tokens, no padding.
            - Decoding: encode a batch of `length` random source tokens, then exactly `length` greedy steps through the seam (`DecodeStep` from a cache, argmax, no early stop), under `no_grad`.
            - Time: {setup.Warmup} warm-up call(s), then the median of {setup.Runs} timed training steps or {setup.DecodeRuns} timed decodings (error bars: interquartile range). Peak memory: resident bytes added at the peak of one more call
              (free heap returned with `malloc_trim`, the kernel's VmHWM reset through `/proc/self/clear_refs` before it).
            - Points whose Bahdanau training intermediate (batch × tgt × src × attention floats) would exceed {AttentionIntermediateLimitBytes >> 30} GiB are skipped, not estimated:
              {(skipped.Count == 0 ? "none." : string.Join("; ", skipped.Select(s => $"{s.Model} {s.Measure} length {s.Length} ({s.Reason})")) + ".")}

            ## Training, batch {setup.TrainBatch}: target tokens/s (median [IQR of time]) and peak memory

            {Table(points, names, "train", setup.TrainBatch, setup.Lengths)}
            ## Greedy decoding: output tokens/s and peak memory

            {string.Join("\n", setup.DecodeBatches.Select(b => $"Batch {b}:\n\n" + Table(points, names, "decode", b, setup.Lengths)))}
            ## Where the Transformer overtakes each recurrent model ({context.Stamp.TorchThreads} torch thread(s))

            The Transformer's tokens/s over the recurrent model's at each length (above 1: the Transformer is faster); the
            shortest length from which the Transformer is clearly faster (IQRs apart) at that length and every longer one;
            and the lengths where the two median times cross, interpolated on log-log axes between measured lengths.

            {OvertakeTable(points, names.Where(n => n != "Transformer").ToArray(),
                [("train", setup.TrainBatch), .. setup.DecodeBatches.Select(b => ("decode", b))], setup.Lengths)}
            ## Model FLOP/s of a training step at batch {setup.TrainBatch} × {setup.FlopsLength}, against the fp32 matmul ceiling

            Ceiling: {ceiling.Size} × {ceiling.Size} fp32 `matmul`, {ceiling.Time}: **{ceiling.GflopPerSecond:F1} GFLOP/s**. Model FLOPs per step = 3 × forward
            (6·N·T, Kaplan et al. 2020: N = weights of matrix products used once per token, the tied output layer included, embedding lookups and
            the once-per-sentence recurrent bridge excluded; T = {setup.TrainBatch}·{setup.FlopsLength} tokens per side) plus the attention interactions
            (4·L²·d per Transformer attention; 2·L²·a for Bahdanau's vᵀ tanh(·)).

            {Markdown.Table(["model", "GFLOP per step", "median step (ms)", "GFLOP/s", "% of matmul ceiling"],
                flops.Select(f => (IReadOnlyList<string>)[f.Model, (f.FlopsPerStep / 1e9).ToString("F1"), f.MedianMs.ToString("F0"), f.GflopPerSecond.ToString("F1"), f.PercentOfMatmul.ToString("F0") + " %"]))}
            Target (issue 8): the Transformer at ≥ 50 % of the ceiling: {(transformerFlops is null ? "not measured" : transformerFlops.PercentOfMatmul >= 50 ? $"**reached** ({transformerFlops.PercentOfMatmul:F0} %)" : $"**not reached** ({transformerFlops.PercentOfMatmul:F0} %)")}.
            {(setup.BaseLengths.Length == 0 ? "" : $"""

            ## `Base` Transformer (issue 5): training target tokens/s at batch {setup.TrainBatch}

            {Table(points, ["Transformer Base"], "train", setup.TrainBatch, setup.BaseLengths)}
            """)}
            """;
        return new ExperimentResult(verdict, text,
            "A (training): the Transformer's training step is clearly faster (IQRs apart) than every recurrent model's at ≥ half of the lengths. "
            + "B (decoding): the same for greedy decoding at ≥ half of the (batch, length) points. Supported if A and B, partly supported if one of them, else not supported.",
            plots, new { setup, Ceiling = ceiling, Parameters = parameters, Points = points, Skipped = skipped, Flops = flops }, body);
    }

    /// <summary>The five plots of the experiment, from its points (also used to redraw them from results.json).</summary>
    public static List<PlotFile> Plots(IReadOnlyList<Point> points, IReadOnlyList<string> names, int trainBatch, IReadOnlyList<int> decodeBatches, Func<LinePlot, string, string, PlotFile> save)
    {
        Series Line(string model, string measure, int batch, Func<Point, (double Y, double Low, double High)> pick)
        {
            var ps = points.Where(p => p.Model == model && p.Measure == measure && p.Batch == batch).OrderBy(p => p.Length).ToList();
            var v = ps.Select(pick).ToList();
            return new Series(model, ps.Select(p => (double)p.Length).ToArray(), v.Select(x => x.Y).ToArray(), v.Select(x => x.Low).ToArray(), v.Select(x => x.High).ToArray());
        }
        (double, double, double) Rate(Point p) => (p.TokensPerSecond, p.TokensPerSecondLow, p.TokensPerSecondHigh);
        (double, double, double) Mem(Point p) => p.PeakBytes is { } b ? (b / 1048576.0, b / 1048576.0, b / 1048576.0) : (double.NaN, double.NaN, double.NaN);
        var plots = new List<PlotFile>
        {
            save(new LinePlot($"Training throughput, batch {trainBatch} (median, bars = IQR)", "source = target length (tokens, log scale)", "target tokens per second (log scale)",
                names.Select(n => Line(n, "train", trainBatch, Rate)).ToArray(), LogX: true, LogY: true), "train_tokens_per_second.png", "Training target tokens/s against length"),
        };
        foreach (var batch in decodeBatches)
            plots.Add(save(new LinePlot($"Greedy decoding throughput, batch {batch} (median, bars = IQR)", "source = output length (tokens, log scale)", "output tokens per second (log scale)",
                names.Select(n => Line(n, "decode", batch, Rate)).ToArray(), LogX: true, LogY: true), $"decode_tokens_per_second_batch{batch}.png", $"Greedy decoding tokens/s against length, batch {batch}"));
        plots.Add(save(new LinePlot($"Peak memory of one training step, batch {trainBatch}", "source = target length (tokens, log scale)", "resident memory added at the peak (MiB, log scale)",
            names.Select(n => Line(n, "train", trainBatch, Mem)).ToArray(), LogX: true, LogY: true), "train_peak_memory.png", "Peak memory of a training step against length"));
        plots.Add(save(new LinePlot($"Peak memory of greedy decoding, batch {decodeBatches[^1]}", "source = output length (tokens, log scale)", "resident memory added at the peak (MiB, log scale)",
            names.Select(n => Line(n, "decode", decodeBatches[^1], Mem)).ToArray(), LogX: true, LogY: true), "decode_peak_memory.png", "Peak memory of greedy decoding against length"));
        return plots;
    }

    /// <summary>Redraws the plots of a finished run from its results.json, with the machine stamp of that run.</summary>
    public static void Replot(string directory)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, LabRunner.ResultsFile)));
        var root = doc.RootElement;
        var stamp = root.GetProperty("Machine").Deserialize<MachineStamp>()!;
        var raw = root.GetProperty("Raw");
        var points = raw.GetProperty("Points").Deserialize<List<Point>>()!;
        var setup = raw.GetProperty("setup");
        var names = points.Select(p => p.Model).Where(m => m != "Transformer Base").Distinct().ToArray();
        Plots(points, names, setup.GetProperty("TrainBatch").GetInt32(), setup.GetProperty("DecodeBatches").Deserialize<int[]>()!, (plot, file, caption) =>
        {
            PlotRenderer.Save(plot, stamp, Path.Combine(directory, file));
            return new PlotFile(file, caption);
        });
    }

    private static string Mib(long? bytes) => bytes is { } b ? $"{b / 1048576.0:F0} MiB" : "n/a";

    private static string Table(List<Point> points, IReadOnlyList<string> names, string measure, int batch, int[] lengths) =>
        Markdown.Table(["length", .. names.Select(n => $"{n} tok/s"), .. names.Select(n => $"{n} peak")],
            lengths.Select(l =>
            {
                var row = new List<string> { l.ToString() };
                var at = names.Select(n => Find(points, n, measure, batch, l)).ToList();
                row.AddRange(at.Select(p => p is null ? "skipped" : $"{p.TokensPerSecond:N0} [{p.TokensPerSecondLow:N0}-{p.TokensPerSecondHigh:N0}]"));
                row.AddRange(at.Select(p => p is null ? "" : Mib(p.PeakBytes)));
                return (IReadOnlyList<string>)row;
            }));

    /// <summary>
    /// Where the Transformer overtakes each recurrent model, per measure and batch: its tokens/s over the model's at every
    /// length ("–" where a point was skipped), the shortest length from which it is clearly faster (IQRs apart) at every
    /// longer length too, and the lengths where the two median times cross (<see cref="ParallelVsSequential.Crossings"/>).
    /// </summary>
    public static string OvertakeTable(IReadOnlyList<Point> points, IReadOnlyList<string> recurrent,
        IReadOnlyList<(string Measure, int Batch)> series, IReadOnlyList<int> lengths)
    {
        Point? At(string model, string measure, int batch, int length) => Find(points, model, measure, batch, length);
        var rows = new List<IReadOnlyList<string>>();
        foreach (var (measure, batch) in series)
            foreach (var model in recurrent)
            {
                var both = lengths.Select(l => (Length: l, Transformer: At("Transformer", measure, batch, l), Recurrent: At(model, measure, batch, l)))
                    .Where(x => x.Transformer is not null && x.Recurrent is not null)
                    .Select(x => (x.Length, Transformer: x.Transformer!, Recurrent: x.Recurrent!)).ToList();
                if (both.Count == 0) continue;
                int from = both.Count;
                while (from > 0 && both[from - 1].Transformer.Time.ClearlyFasterThan(both[from - 1].Recurrent.Time)) from--;
                var crossings = ParallelVsSequential.Crossings(both.Select(x => x.Length).ToArray(),
                    both.Select(x => x.Transformer.Time).ToArray(), both.Select(x => x.Recurrent.Time).ToArray());
                var ratios = lengths.Select(l => At("Transformer", measure, batch, l) is { } t && At(model, measure, batch, l) is { } r
                    ? (t.TokensPerSecond / r.TokensPerSecond).ToString("F2") : "–");
                rows.Add([measure == "train" ? "training" : "greedy decoding", batch.ToString(), model, string.Join(" / ", ratios),
                    from == 0 ? $"at every length ({both[0].Length}-{both[^1].Length})" : from < both.Count ? $"from length {both[from].Length}" : $"no (up to {both[^1].Length})",
                    crossings.Length == 0 ? "none" : string.Join(", ", crossings.Select(c => $"L≈{c:F0}"))]);
            }
        return Markdown.Table(["measure", "batch", "against", $"Transformer / it (tok/s) at lengths {string.Join(" / ", lengths)}", "Transformer clearly faster", "medians cross at"], rows);
    }

    /// <summary>The point of a model, measure, batch and length; null where it was skipped.</summary>
    private static Point? Find(IReadOnlyList<Point> points, string model, string measure, int batch, int length) =>
        points.SingleOrDefault(p => p.Model == model && p.Measure == measure && p.Batch == batch && p.Length == length);

    private static (string Name, Func<Seq2SeqModel> Build)[] Models(string preset, int vocab)
    {
        Seq2SeqModel Recurrent(RecurrentCellKind cell) => new RecurrentTranslator(preset == "tiny"
            ? RecurrentTranslatorConfig.Tiny(vocab, cell, RecurrentAttention.Bahdanau)
            : RecurrentTranslatorConfig.Small(vocab, cell));
        return
        [
            ("Transformer", () => new TransformerTranslator(preset == "tiny" ? TransformerConfig.Tiny(vocab) : TransformerConfig.Small(vocab))),
            ("LSTM", () => Recurrent(RecurrentCellKind.Lstm)),
            ("GRU", () => Recurrent(RecurrentCellKind.Gru)),
            ("RNN", () => Recurrent(RecurrentCellKind.Rnn)),
        ];
    }

    private static string? TooBig(Seq2SeqModel model, int batch, int length)
    {
        if (model is not RecurrentTranslator r || r.Config.Attention != RecurrentAttention.Bahdanau) return null;
        long bytes = (long)batch * length * length * r.Config.AttentionSize * sizeof(float);
        return bytes > AttentionIntermediateLimitBytes ? $"Bahdanau intermediate {bytes / (double)(1L << 30):F0} GiB per copy" : null;
    }

    private static Tensor RandomIds(Seq2SeqModel model, int batch, int length) =>
        randint(model.Special.Unk + 1, model.VocabSize, [batch, length], dtype: ScalarType.Int64);

    public static Point MeasureTraining(string name, Seq2SeqModel model, int batch, int length, int warmup, int runs)
    {
        model.train();
        using var optimizer = optim.AdamW(model.parameters(), 1e-4, 0.9, 0.98, 1e-9, 1e-4);
        using var src = RandomIds(model, batch, length);
        using var tgt = RandomIds(model, batch, length + 1);
        using var mask = ones([batch, length], ScalarType.Bool);
        using var tgtIn = tgt[.., ..^1].contiguous();
        using var tgtOut = tgt[.., 1..].contiguous();
        long tokens = tgtOut.ne(model.Special.Pad).sum().ToInt64();               // the loss's non-padding targets, counted once
        void Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var sums = LabelSmoothedCrossEntropy.Compute(model.Forward(src, mask, tgtIn), tgtOut, model.Special.Pad, 0.1);
            sums.Loss.div(tokens).backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        }
        var time = TimingStats.Measure(Step, warmup, runs);
        var peak = PeakMemory.Of(Step);
        return ToPoint(name, "train", batch, length, time, peak);
    }

    public static Point MeasureDecoding(string name, Seq2SeqModel model, int batch, int length, int warmup, int runs)
    {
        model.eval();
        using var src = RandomIds(model, batch, length);
        using var mask = ones([batch, length], ScalarType.Bool);
        void Decode() => GreedySteps(model, src, mask, length);
        var time = TimingStats.Measure(Decode, warmup, runs);
        var peak = PeakMemory.Of(Decode);
        return ToPoint(name, "decode", batch, length, time, peak);
    }

    /// <summary>Encodes <paramref name="src"/> once, then exactly <paramref name="steps"/> argmax steps through the seam (no early stop), without gradients.</summary>
    public static void GreedySteps(Seq2SeqModel model, Tensor src, Tensor mask, int steps)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var encoded = model.Encode(src, mask);
        using var state = model.StartDecoding(encoded);
        var prev = full([src.shape[0]], model.Special.Bos, ScalarType.Int64);
        for (int t = 0; t < steps; t++)
        {
            using var step = NewDisposeScope();
            prev = model.DecodeStep(prev, state).argmax(-1).MoveToOuterDisposeScope();
        }
    }

    /// <summary>Times come from the timed calls; the memory is probed on one more call (its time is not used).</summary>
    private static Point ToPoint(string name, string measure, int batch, int length, TimingStats time, long? peak)
    {
        double tokens = (double)batch * length;
        return new Point(name, measure, batch, length, time, tokens / time.MedianMs * 1000, tokens / time.Q3Ms * 1000, tokens / time.Q1Ms * 1000, peak);
    }

    public sealed record Ceiling(int Size, TimingStats Time, double GflopPerSecond);

    /// <summary>Median GFLOP/s of an n × n fp32 matmul (2n³ FLOPs).</summary>
    public static Ceiling MatmulCeiling(int n, int warmup, int runs)
    {
        using var a = randn(n, n);
        using var b = randn(n, n);
        var time = TimingStats.Measure(() => { using var c = a.matmul(b); }, warmup, runs);
        return new Ceiling(n, time, 2.0 * n * n * n / time.MedianMs / 1e6);
    }

    /// <summary>
    /// Model FLOPs of one training step with src = tgt = <paramref name="length"/>: 6 · N · batch · length over the weights of
    /// matrix products (each used once per source or target token; the tied output projection counted once more), plus
    /// the attention interactions ×3 for forward + backward.
    /// </summary>
    public static double TrainingFlops(Seq2SeqModel model, int batch, int length)
    {
        double tokens = (double)batch * length;
        long matmulWeights = model.named_parameters()
            .Where(p => p.parameter.dim() == 2 && !p.name.Contains("embedding") && !p.name.StartsWith("bridge", StringComparison.Ordinal)
                        && !p.name.StartsWith("attention.score", StringComparison.Ordinal))                 // Bahdanau's v: used per (target, source) pair, counted below
            .Sum(p => p.parameter.numel());
        long outputWeights = (long)model.VocabSize * EmbeddingWidth(model);
        double dense = 6.0 * (matmulWeights + outputWeights) * tokens;
        double attention = model switch
        {
            TransformerTranslator t => 3.0 * (t.Config.EncoderLayers + 2 * t.Config.DecoderLayers) * 4.0 * batch * length * length * t.Config.DModel,
            RecurrentTranslator r when r.Config.Attention == RecurrentAttention.Bahdanau => 3.0 * 2.0 * batch * length * length * r.Config.AttentionSize,
            RecurrentTranslator r when r.Config.Attention != RecurrentAttention.None => 3.0 * 4.0 * batch * length * length * r.Config.HiddenSize,
            _ => 0,
        };
        return dense + attention;
    }

    private static int EmbeddingWidth(Seq2SeqModel model) => model switch
    {
        TransformerTranslator t => t.Config.DModel,
        RecurrentTranslator r => r.Config.EmbeddingSize,
        _ => throw new ArgumentException($"unknown model {model.GetType().Name}"),
    };

    private static (Verdict, string) Decide(List<Point> points, List<Skipped> skipped, string[] names, Setup setup)
    {
        var recurrent = names.Where(n => n != "Transformer").ToArray();
        Point? At(string m, string measure, int b, int l) => Find(points, m, measure, b, l);
        int Wins(string measure, int b, out int total)
        {
            int wins = 0; total = 0;
            foreach (var l in setup.Lengths)
            {
                var t = At("Transformer", measure, b, l);
                if (t is null) continue;
                var others = recurrent.Select(r => At(r, measure, b, l)).Where(p => p is not null).ToList();
                if (others.Count == 0) continue;
                total++;
                if (others.All(o => t.Time.ClearlyFasterThan(o!.Time))) wins++;
            }
            return wins;
        }
        int trainWins = Wins("train", setup.TrainBatch, out int trainTotal);
        int decodeWins = 0, decodeTotal = 0;
        foreach (var b in setup.DecodeBatches) { decodeWins += Wins("decode", b, out int n); decodeTotal += n; }
        bool a = 2 * trainWins >= trainTotal, d = 2 * decodeWins >= decodeTotal;
        var verdict = a && d ? Verdict.Supported : a || d ? Verdict.PartlySupported : Verdict.NotSupported;
        string Ratios(string measure, int b) => string.Join(", ", setup.Lengths.Select(l =>
        {
            var t = At("Transformer", measure, b, l);
            var best = recurrent.Select(r => At(r, measure, b, l)).Where(p => p is not null).MaxBy(p => p!.TokensPerSecond);
            return t is null || best is null ? $"{l}: n/a" : $"{l}: {t.TokensPerSecond / best.TokensPerSecond:F2}";
        }));
        var text = $"Training: Transformer clearly faster than every recurrent model at {trainWins}/{trainTotal} lengths (Transformer / fastest recurrent tok/s by length {Ratios("train", setup.TrainBatch)}). "
                   + $"Greedy decoding: at {decodeWins}/{decodeTotal} points ({string.Join("; ", setup.DecodeBatches.Select(b => $"batch {b}: {Ratios("decode", b)}"))})."
                   + (skipped.Count > 0 ? $" {skipped.Count} point(s) skipped for memory." : "");
        return (verdict, text);
    }
}
