using System.Diagnostics;
using TorchSharp;
using Transformers.Data;
using Transformers.Lab.Runner;
using Transformers.Recurrent;
using Transformers.Training;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Lab.Experiments;

/// <summary>
/// Issue 12's profile of a training step: where the time of one optimizer step of the Small translators goes (batch to
/// tensors, forward, loss, backward, clipping, AdamW, zero_grad), and what the avoidable parts would save: dropout
/// (the same step with dropout 0), the label-smoothed loss (ours against libtorch's fused cross_entropy with
/// label smoothing) and a host read of the loss per batch. The step is the trainer's own sequence of calls on a fixed
/// batch of about 1,000 target tokens (the Transformer recipe's batch), timed section by section; CPU ops are
/// synchronous, so a section's wall time is its cost.
/// </summary>
public sealed class TrainStepProfile : IExperiment
{
    public string Name => "train-step-profile";

    public string Claim => "A training step spends its time in the model's matrix products, not in host syncs, the loss, dropout or the optimizer.";

    public sealed record Section(string Model, string Part, double MedianMs, double Share);

    public sealed record Variant(string Model, string Change, double StepMs, double BaselineMs);

    /// <summary>Share of the step outside forward + backward above which the claim fails.</summary>
    public const double OverheadLimit = 0.15;

    private static readonly string[] Parts = ["batch to tensors", "forward", "loss", "backward", "clip grad norm", "AdamW step", "zero_grad", "host read"];

    public ExperimentResult Run(LabContext context)
    {
        int vocab = context.Quick ? 300 : 8000, batch = context.Quick ? 8 : 80, srcLen = context.Quick ? 6 : 13, tgtLen = context.Quick ? 6 : 13;
        int warmup = context.Quick ? 1 : 3, runs = context.Quick ? 3 : 15;
        var special = new SpecialTokens(0, 1, 2, 3);
        var rng = new Random(7);
        var sources = Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, srcLen - 1).Select(_ => rng.Next(4, vocab)).ToArray()).ToList();
        var targets = Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, tgtLen - 1).Select(_ => rng.Next(4, vocab)).ToArray()).ToList();
        var data = new TranslationBatch(sources, targets);

        var models = new (string Name, Func<double, Seq2SeqModel> Build)[]
        {
            ("Transformer small", d => new TransformerTranslator((context.Quick ? TransformerConfig.Tiny(vocab) : TransformerConfig.Small(vocab)) with { Dropout = d })),
            ("GRU matched", d => new RecurrentTranslator((context.Quick
                ? RecurrentTranslatorConfig.Tiny(vocab, RecurrentCellKind.Gru, RecurrentAttention.LuongGeneral)
                : RecurrentTranslatorConfig.Small(vocab, RecurrentCellKind.Gru, RecurrentAttention.LuongGeneral)) with { Dropout = d })),
        };
        var sections = new List<Section>();
        var variants = new List<Variant>();
        foreach (var (name, build) in models)
        {
            torch.manual_seed(1);
            using var model = build(0.1);
            var profile = Profile(model, data, special, LossKind.Ours, hostReadPerBatch: false, warmup, runs);
            double step = profile.Values.Sum();
            sections.AddRange(Parts.Select(p => new Section(name, p, profile[p], profile[p] / step)));
            context.Log($"  {name}: {step:F1} ms per step ({string.Join(", ", Parts.Select(p => $"{p} {profile[p]:F1}"))})");

            variants.Add(new Variant(name, "libtorch's fused cross_entropy(label_smoothing) for the loss", Profile(model, data, special, LossKind.Fused, false, warmup, runs).Values.Sum(), step));
            variants.Add(new Variant(name, "a host read of the loss after every batch (the old trainer, twice)", Profile(model, data, special, LossKind.Ours, true, warmup, runs).Values.Sum(), step));
            torch.manual_seed(1);
            using var noDropout = build(0.0);
            variants.Add(new Variant(name, "dropout 0 instead of 0.1", Profile(noDropout, data, special, LossKind.Ours, false, warmup, runs).Values.Sum(), step));
        }

        var overhead = models.Select(m =>
        {
            var own = sections.Where(s => s.Model == m.Name).ToList();
            return (m.Name, Share: own.Where(s => s.Part is not ("forward" or "backward")).Sum(s => s.Share));
        }).ToList();
        bool supported = overhead.All(o => o.Share <= OverheadLimit);
        var text = string.Join("; ", overhead.Select(o => $"{o.Name}: {o.Share:P0} of the step outside forward and backward"));

        var rows = models.SelectMany(m => Parts.Select(p => sections.Single(s => s.Model == m.Name && s.Part == p)))
            .Select(s => (IReadOnlyList<string>)[s.Model, s.Part, $"{s.MedianMs:F2}", $"{s.Share:P1}"]);
        var variantRows = variants.Select(v => (IReadOnlyList<string>)[v.Model, v.Change, $"{v.StepMs:F1}", $"{v.BaselineMs:F1}", $"{v.StepMs / v.BaselineMs:F3}"]);
        var body =
            $"Setup: one optimizer step of each model on a fixed batch of {batch} pairs × {srcLen} source / {tgtLen} target tokens (EOS and BOS included), " +
            $"vocabulary {vocab}, dropout 0.1, label smoothing 0.1, AdamW, clipping at 1.0; {warmup} warm-up steps, then the median of {runs} steps per section.\n\n" +
            Markdown.Table(["model", "part of the step", "median ms", "share"], rows) + "\n\n" +
            "What the avoidable parts cost (whole step, median ms; ratio < 1: the change is faster):\n\n" +
            Markdown.Table(["model", "change", "step ms", "baseline ms", "ratio"], variantRows) + "\n";
        var groups = models.Select(m =>
        {
            var share = Parts.Select(p => 100 * sections.Single(s => s.Model == m.Name && s.Part == p).Share).ToArray();
            return (m.Name, share, share, share);
        }).ToList();
        var plot = context.Save(new BarPlot("Where a training step's time goes", "share of the step (%)", Parts, groups),
            "step_breakdown.png", "Share of each part of one optimizer step");
        return new ExperimentResult(supported ? Verdict.Supported : Verdict.NotSupported, text,
            $"Supported when, for every model, the parts outside forward and backward (tensors, loss, clipping, optimizer, zero_grad, host read) take at most {OverheadLimit:P0} of the step.",
            [plot], new { sections, variants }, body);
    }

    private enum LossKind { Ours, Fused }

    /// <summary>Median milliseconds of each part of the trainer's step, over <paramref name="runs"/> steps.</summary>
    private static Dictionary<string, double> Profile(Seq2SeqModel model, TranslationBatch batch, SpecialTokens special, LossKind loss, bool hostReadPerBatch, int warmup, int runs)
    {
        model.train();
        var optimizer = optim.AdamW(model.parameters(), 1e-4, 0.9, 0.98, 1e-9, 1e-4);
        var samples = Parts.ToDictionary(p => p, _ => new List<double>());
        long tokens = batch.TargetTokens;
        for (int i = 0; i < warmup + runs; i++)
        {
            using var scope = NewDisposeScope();
            var times = new Dictionary<string, double>();
            var clock = Stopwatch.StartNew();
            void Lap(string part) { times[part] = clock.Elapsed.TotalMilliseconds; clock.Restart(); }

            var t = batch.ToTensors(special);
            Lap("batch to tensors");
            var logits = model.Forward(t.Source, t.SourceMask, t.TargetIn);
            Lap("forward");
            Tensor sum, nll;
            if (loss == LossKind.Ours)
            {
                var s = LabelSmoothedCrossEntropy.Compute(logits, t.TargetOut, special.Pad, 0.1);
                (sum, nll) = (s.Loss, s.Nll);
            }
            else
            {
                var flat = logits.view(-1, logits.shape[2]);                          // [batch * tgt, vocab]
                var y = t.TargetOut.view(-1);                                         // [batch * tgt]
                sum = nn.functional.cross_entropy(flat, y, ignore_index: special.Pad, reduction: nn.Reduction.Sum, label_smoothing: 0.1);
                using (no_grad()) nll = nn.functional.cross_entropy(flat, y, ignore_index: special.Pad, reduction: nn.Reduction.Sum);
            }
            Lap("loss");
            sum.div(tokens).backward();
            if (hostReadPerBatch) { _ = sum.item<float>(); _ = nll.item<float>(); }
            Lap("backward");
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            Lap("clip grad norm");
            optimizer.step();
            Lap("AdamW step");
            optimizer.zero_grad();
            Lap("zero_grad");
            _ = stack([sum.detach(), nll]).cpu().data<float>().ToArray();
            Lap("host read");
            if (i >= warmup)
                foreach (var p in Parts) samples[p].Add(times[p]);
        }
        optimizer.Dispose();
        return samples.ToDictionary(kv => kv.Key, kv => TimingStats.FromSamples(kv.Value).MedianMs);
    }
}
