using TorchSharp;
using TorchSharp.Modules;
using Transformers.Lab.Runner;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Lab.Experiments;

/// <summary>
/// Issue 8's first speed target: one training step of our Transformer translator (attention written with our own modules,
/// so every head can be read) against the same sizes built from libtorch's native <c>nn.TransformerEncoderLayer</c> /
/// <c>nn.TransformerDecoderLayer</c>, timed alternately in the same run.
/// </summary>
public sealed class AttentionCost : IExperiment
{
    public string Name => "attention-cost";

    public string Claim =>
        "Attention written to be inspected (every head's probabilities available) trains within 10 % of libtorch's native Transformer layers of the same sizes.";

    private sealed record Setup(string Preset, int Vocab, int Batch, int[] Lengths, int Warmup, int Runs);

    public sealed record Point(int Length, TimingStats Ours, TimingStats OursPreLn, TimingStats Native, double Ratio, double RatioPreLn);

    /// <summary>The issue's target: our step at most this many times the native one.</summary>
    public const double Target = 1.10;

    public ExperimentResult Run(LabContext context)
    {
        var setup = context.Quick
            ? new Setup("tiny", Vocab: 200, Batch: 4, Lengths: [8], Warmup: 1, Runs: 3)
            : new Setup("small", Vocab: 8000, Batch: 64, Lengths: [16, 32, 64], Warmup: 2, Runs: 5);
        var config = (setup.Preset == "tiny" ? TransformerConfig.Tiny(setup.Vocab) : TransformerConfig.Small(setup.Vocab)) with { Norm = NormPosition.Post, Dropout = 0.1 };
        torch.manual_seed(4);
        using var ours = new TransformerTranslator(config);
        using var oursPre = new TransformerTranslator(config with { Norm = NormPosition.Pre });
        using var native = new NativeTranslator(config);
        var counts = new Dictionary<string, long>
        {
            ["ours (post-LN)"] = ours.parameters().Sum(p => p.numel()),
            ["ours (pre-LN)"] = oursPre.parameters().Sum(p => p.numel()),
            ["native (post-LN)"] = native.parameters().Sum(p => p.numel()),
        };
        var points = new List<Point>();
        foreach (var length in setup.Lengths)
        {
            using var src = randint(4, setup.Vocab, [setup.Batch, length]);
            using var tgt = randint(4, setup.Vocab, [setup.Batch, length + 1]);
            using var mask = ones([setup.Batch, length], ScalarType.Bool);
            using var tgtIn = tgt[.., ..^1].contiguous();
            using var tgtOut = tgt[.., 1..].contiguous();
            var steps = new (string Name, Action Step)[]
            {
                ("ours", Stepper(ours, () => ours.Forward(src, mask, tgtIn), tgtOut)),
                ("ours-pre", Stepper(oursPre, () => oursPre.Forward(src, mask, tgtIn), tgtOut)),
                ("native", Stepper(native, () => native.Forward(src, tgtIn), tgtOut)),
            };
            foreach (var (_, step) in steps) for (int i = 0; i < setup.Warmup; i++) step();
            // Alternate the three so that drift in the machine's speed touches each alike.
            var samples = steps.ToDictionary(s => s.Name, _ => new List<double>());
            for (int r = 0; r < setup.Runs; r++)
                foreach (var (name, step) in steps)
                {
                    var start = System.Diagnostics.Stopwatch.GetTimestamp();
                    step();
                    samples[name].Add(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            var (o, op, n) = (TimingStats.FromSamples(samples["ours"]), TimingStats.FromSamples(samples["ours-pre"]), TimingStats.FromSamples(samples["native"]));
            points.Add(new Point(length, o, op, n, o.MedianMs / n.MedianMs, op.MedianMs / n.MedianMs));
            context.Log($"  length {length,3}: ours {o}, ours pre-LN {op}, native {n}: ratio {o.MedianMs / n.MedianMs:F3}");
        }

        int within = points.Count(p => p.Ratio <= Target);
        var verdict = within == points.Count ? Verdict.Supported : within > 0 ? Verdict.PartlySupported : Verdict.NotSupported;
        var text = $"our training step / native at batch {setup.Batch}: " + string.Join(", ", points.Select(p => $"length {p.Length}: {p.Ratio:F3}"))
                   + $" (target ≤ {Target:F2}: {(within == points.Count ? "reached" : $"reached at {within}/{points.Count} lengths")})";
        var plot = context.Save(new LinePlot($"Training step, batch {setup.Batch}: ours / native libtorch layers (median; bars = IQR of ours / median native)",
            "source = target length (tokens, log scale)", "time ratio (ours / native)",
            [
                new Series("ours post-LN / native", points.Select(p => (double)p.Length).ToArray(), points.Select(p => p.Ratio).ToArray(),
                    points.Select(p => p.Ours.Q1Ms / p.Native.MedianMs).ToArray(), points.Select(p => p.Ours.Q3Ms / p.Native.MedianMs).ToArray()),
                new Series("ours pre-LN / native", points.Select(p => (double)p.Length).ToArray(), points.Select(p => p.RatioPreLn).ToArray(),
                    points.Select(p => p.OursPreLn.Q1Ms / p.Native.MedianMs).ToArray(), points.Select(p => p.OursPreLn.Q3Ms / p.Native.MedianMs).ToArray()),
            ], LogX: true, HorizontalLine: Target, HorizontalLineLabel: $"target {Target:F2}"), "step_ratio.png", "Our training step time over the native layers' at each length");
        var body = $"""
            ## Setup

            - Ours: `TransformerTranslator` with the `{setup.Preset}` sizes (dModel {config.DModel}, {config.NumHeads} heads, {config.EncoderLayers}+{config.DecoderLayers} layers, dFf {config.DFf}, dropout {config.Dropout}),
              post-LN to match libtorch's layers (and pre-LN, the default, for reference).
            - Native: the same embedding (tied, scaled by √dModel), sinusoidal positions and output layer around {config.EncoderLayers} `nn.TransformerEncoderLayer` and {config.DecoderLayers} `nn.TransformerDecoderLayer`
              (libtorch's C++ modules: post-LN, ReLU, the same dropout; sequence-first layout, so the batch is transposed in and out).
            - Parameters: {string.Join(", ", counts.Select(c => $"{c.Key} {c.Value:N0}"))}.
            - One training step each (forward, label-smoothed cross-entropy, backward, clipping, AdamW) at batch {setup.Batch}, source = target length, no padding;
              {setup.Warmup} warm-up step(s) each, then {setup.Runs} rounds alternating the three models; medians and IQR.

            {Markdown.Table(["length", "ours post-LN", "ours pre-LN", "native post-LN", "ours / native", "ours pre-LN / native", $"≤ {Target:F2}?"],
                points.Select(p => (IReadOnlyList<string>)[p.Length.ToString(), p.Ours.ToString(), p.OursPreLn.ToString(), p.Native.ToString(),
                    p.Ratio.ToString("F3"), p.RatioPreLn.ToString("F3"), p.Ratio <= Target ? "yes" : "**no**"]))}
            """;
        return new ExperimentResult(verdict, text,
            $"Supported if our post-LN step's median is ≤ {Target:F2} × the native one's at every length; partly supported at some; else not supported.",
            [plot], new { setup, Parameters = counts, Points = points }, body);
    }

    private static Action Stepper(nn.Module model, Func<Tensor> forward, Tensor targets)
    {
        model.train();
        var optimizer = optim.AdamW(model.parameters(), 1e-4, 0.9, 0.98, 1e-9, 1e-4);
        long tokens = targets.ne(0).sum().ToInt64();                              // the loss's non-padding targets, counted once
        return () =>
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var sums = LabelSmoothedCrossEntropy.Compute(forward(), targets, 0, 0.1);
            sums.Loss.div(tokens).backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
        };
    }

    /// <summary>The peer: libtorch's native layers with our embedding, positions and tied output layer. src, tgtIn: [batch, len] -> logits.</summary>
    private sealed class NativeTranslator : nn.Module
    {
        private readonly Embedding embedding;
        private readonly ModuleList<TransformerEncoderLayer> encoder = new();
        private readonly ModuleList<TransformerDecoderLayer> decoder = new();
        private readonly Dropout dropout;
        private readonly Tensor positions;
        private readonly double scale;

        public NativeTranslator(TransformerConfig c) : base(nameof(NativeTranslator))
        {
            embedding = nn.Embedding(c.VocabSize, c.DModel, padding_idx: c.PadId);
            for (int i = 0; i < c.EncoderLayers; i++) encoder.Add(nn.TransformerEncoderLayer(c.DModel, c.NumHeads, c.DFf, c.Dropout));
            for (int i = 0; i < c.DecoderLayers; i++) decoder.Add(nn.TransformerDecoderLayer(c.DModel, c.NumHeads, c.DFf, c.Dropout));
            dropout = nn.Dropout(c.Dropout);
            scale = Math.Sqrt(c.DModel);
            // PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...) (Vaswani et al. §3.5)
            var pos = arange(c.MaxLength, dtype: ScalarType.Float32).unsqueeze(1);
            var div = exp(arange(0, c.DModel, 2, dtype: ScalarType.Float32) * (-Math.Log(10000.0) / c.DModel));
            positions = zeros(c.MaxLength, c.DModel);
            positions[.., TensorIndex.Slice(0, null, 2)] = sin(pos * div);
            positions[.., TensorIndex.Slice(1, null, 2)] = cos(pos * div);
            RegisterComponents();
        }

        private Tensor Embed(Tensor ids) =>                                                  // [batch, len] -> [len, batch, dModel]
            dropout.forward(embedding.forward(ids) * scale + positions[..(int)ids.shape[1]]).transpose(0, 1);

        public Tensor Forward(Tensor src, Tensor tgtIn)
        {
            var memory = Embed(src);
            foreach (var layer in encoder) memory = layer.call(memory);
            long t = tgtIn.shape[1];
            var causal = full(t, t, double.NegativeInfinity).triu(1);                          // [tgt, tgt]: -inf above the diagonal
            var y = Embed(tgtIn);
            foreach (var layer in decoder) y = layer.call(y, memory, causal);
            return y.transpose(0, 1).matmul(embedding.weight!.t());                            // [batch, tgt, vocab]
        }
    }
}
