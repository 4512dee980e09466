using System.Diagnostics;
using TorchSharp;
using Transformers.Data;
using Transformers.Evaluation;
using Transformers.Lab.Runner;
using Transformers.Recurrent;
using Transformers.Training;
using Transformers.Translation;

namespace Transformers.Lab.Experiments;

/// <summary>
/// Experiment 6: BLEU of a recurrent translator whose encoder reads the source in both directions (outputs concatenated)
/// against the same translator with a left-to-right encoder, trained on the same batches for the same number of steps.
/// Both are the default GRU translator (<c>train --arch gru</c>, <c>--unidirectional</c> for the other) with its recipe,
/// trained long enough that both translate (dev BLEU past <see cref="LearnedDevBleu"/>): a comparison of encoders, not
/// of two models that have not started to learn.
/// </summary>
public sealed class Bidirectional : IExperiment
{
    public string Name => "bidirectional";

    public string Claim =>
        "A bidirectional encoder (left to right and right to left, combined) translates better than a left-to-right one.";

    private sealed record Setup(ModelPreset Preset, int Vocab, int TrainLimit, int Steps, int TestSentences, int DevBleuSentences, int Resamples);

    public sealed record TrainedModel(string Encoder, long Parameters, long Steps, long TargetTokens, double TrainSeconds, double DevLoss, double? DevBleu,
                                      double TestBleu, double TestChrF, string BleuLine);

    /// <summary>Paired bootstrap resampling of the test sentences (Koehn 2004): share of resamples where each encoder scores higher.</summary>
    public sealed record Bootstrap(int Resamples, double BidirectionalWins, double UnidirectionalWins, double MeanDelta, double Low95, double High95);

    /// <summary>Below this test BLEU for both models the run cannot say anything.</summary>
    private const double MinimumBleu = 1.0;

    /// <summary>A model below this dev BLEU has not learned to translate: the budget was too short for a verdict.</summary>
    public const double LearnedDevBleu = 10.0;

    public ExperimentResult Run(LabContext context)
    {
        // Full run: 800 steps of ~4,000-token batches (~3.3 M target tokens, about 2 epochs); the bidirectional GRU passes
        // dev BLEU 10 after ~350 steps with this recipe (experiments/results/translation/reference-30min).
        var setup = context.Quick
            ? new Setup(ModelPreset.Tiny, Vocab: 300, TrainLimit: 400, Steps: 4, TestSentences: 20, DevBleuSentences: 20, Resamples: 100)
            : new Setup(ModelPreset.Small, Vocab: 8000, TrainLimit: 0, Steps: 800, TestSentences: 1000, DevBleuSentences: 500, Resamples: 1000);
        var recipe = TranslationRecipe.For(TranslatorArchitecture.Gru, setup.Preset);
        var split = BundledCorpus.LoadSplit();
        var clock = Stopwatch.StartNew();
        var tokenizer = TranslationData.TrainTokenizer(setup.TrainLimit > 0 ? split.Train.Take(setup.TrainLimit).ToList() : split.Train, setup.Vocab);
        context.Log($"  vocabulary {tokenizer.Vocabulary.Count:N0} in {clock.Elapsed.TotalSeconds:F1} s");
        var data = TranslationData.Create(split, tokenizer, recipe.Data with
        {
            VocabSize = setup.Vocab, TrainLimit = setup.TrainLimit, Seed = 11, DevBleuSentences = setup.DevBleuSentences,
            MaxTokensPerBatch = context.Quick ? 256 : recipe.Data.MaxTokensPerBatch,
        });
        var test = split.Test.Take(setup.TestSentences).ToList();
        var references = test.Select(p => p.Target).ToList();

        var runs = new List<TrainedModel>();
        var curves = new List<Series>();
        var hypotheses = new Dictionary<string, string[]>();
        foreach (var bidirectional in new[] { true, false })
        {
            string name = bidirectional ? "bidirectional" : "left-to-right";
            torch.manual_seed(5);
            using var model = TranslatorFactory.Create(TranslatorArchitecture.Gru, setup.Preset, tokenizer, bidirectional: bidirectional);
            var runDir = Path.Combine(Path.GetTempPath(), $"lab-bidirectional-{Environment.ProcessId}-{name}");
            try
            {
                var options = recipe.Trainer with { MaxSteps = setup.Steps, MaxEpochs = 0, EvalEverySteps = setup.Steps, Patience = 0, Seed = 5 };
                var (steps, losses) = (new List<double>(), new List<double>());
                var trainer = new Trainer(model, data, tokenizer.Vocabulary.Tokens, options, runDir)
                {
                    DevBleu = data.DevBleu,
                    OnStep = (r, _) => { steps.Add(r.Step); losses.Add(r.Nll); },
                };
                trainer.Run();
                var hyps = new TextTranslator(model, tokenizer).Translate(test.Select(p => p.Source).ToList(), new DecodingOptions());
                hypotheses[name] = hyps;
                curves.Add(new Series(name, steps, Smooth(losses, setup.Steps / 20 + 1)));
                var bleu = Bleu.Corpus(hyps, [references]);
                var chrf = ChrF.Corpus(hyps, [references]);
                var eval = trainer.State.History[^1];
                runs.Add(new TrainedModel(name, model.parameters().Sum(p => p.numel()), trainer.State.Step, trainer.State.TargetTokens, trainer.State.ElapsedSeconds,
                                 eval.DevLoss, eval.DevBleu, bleu.Score, chrf.Score, bleu.ToString()));
                context.Log($"  {name,-14} {trainer.State.Step} steps, {trainer.State.TargetTokens:N0} target tokens, {trainer.State.ElapsedSeconds:F0} s: dev loss {eval.DevLoss:F3}, dev BLEU {eval.DevBleu:F2}, test {bleu}");
            }
            finally
            {
                if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
            }
        }

        var boot = PairedBootstrap(hypotheses["bidirectional"], hypotheses["left-to-right"], references, setup.Resamples, seed: 17);
        var (bi, uni) = (runs[0], runs[1]);
        Verdict verdict;
        bool learned = bi.DevBleu >= LearnedDevBleu && uni.DevBleu >= LearnedDevBleu;
        if (!learned || (bi.TestBleu < MinimumBleu && uni.TestBleu < MinimumBleu)) verdict = Verdict.Inconclusive;
        else if (boot.BidirectionalWins >= 0.95) verdict = bi.DevLoss < uni.DevLoss ? Verdict.Supported : Verdict.PartlySupported;
        else if (boot.UnidirectionalWins >= 0.95) verdict = Verdict.NotSupported;
        else verdict = bi.DevLoss < uni.DevLoss ? Verdict.PartlySupported : Verdict.Inconclusive;
        var text = $"test BLEU bidirectional {bi.TestBleu:F2} vs left-to-right {uni.TestBleu:F2} (Δ {bi.TestBleu - uni.TestBleu:+0.00;-0.00}, 95 % interval {boot.Low95:+0.00;-0.00} to {boot.High95:+0.00;-0.00}; "
                   + $"bidirectional better in {boot.BidirectionalWins:P0} of {boot.Resamples} paired resamples); dev loss {bi.DevLoss:F3} vs {uni.DevLoss:F3} nats/token; "
                   + $"dev BLEU {bi.DevBleu:F2} vs {uni.DevBleu:F2}" + (learned ? "" : $" (a model below dev BLEU {LearnedDevBleu} has not learned: budget too short)");

        var body = $"""
            ## Setup

            - Bundled corpus (train {data.TrainPairs:N0} pairs{(setup.TrainLimit > 0 ? $", first {setup.TrainLimit}" : "")}), joint cased WordPiece vocabulary of {tokenizer.Vocabulary.Count:N0}.
            - Two GRU translators of the `{setup.Preset.ToString().ToLowerInvariant()}` preset (`train --arch gru`, and `--unidirectional`), identical but for the encoder: bidirectional (outputs of both
              directions concatenated, the bridge reads [h→_last; h←_1]) or left to right (the bridge reads h→_last). Same seed, same batches ({data.TrainPairs:N0} pairs, batches of
              {recipe.Data.MaxTokensPerBatch:N0} tokens) in the same order, {setup.Steps} optimizer steps each, the GRU's default recipe (AdamW, learning rate {recipe.Trainer.Schedule},
              label smoothing 0.1, dropout as in the preset), one worker.
            - Dev BLEU (greedy, first {setup.DevBleuSentences} dev pairs) after the last step: a verdict needs both past {LearnedDevBleu}.
            - Test: the first {test.Count} test pairs, greedy decoding, sacreBLEU-exact BLEU and chrF; significance by paired bootstrap resampling ({setup.Resamples} resamples, Koehn 2004).

            {Markdown.Table(["encoder", "parameters", "steps", "target tokens", "train time (s)", "dev loss (nats/token)", "dev BLEU", "test BLEU", "test chrF2"],
                runs.Select(r => (IReadOnlyList<string>)[r.Encoder, r.Parameters.ToString("N0"), r.Steps.ToString(), r.TargetTokens.ToString("N0"), r.TrainSeconds.ToString("F0"),
                    r.DevLoss.ToString("F3"), r.DevBleu?.ToString("F2") ?? "n/a", r.TestBleu.ToString("F2"), r.TestChrF.ToString("F2")]))}
            ```
            bidirectional: {bi.BleuLine}
            left-to-right: {uni.BleuLine}
            ```

            Paired bootstrap: BLEU(bidirectional) − BLEU(left-to-right) has mean {boot.MeanDelta:F2} and 95 % interval [{boot.Low95:F2}, {boot.High95:F2}];
            the bidirectional encoder scores higher in {boot.BidirectionalWins:P1} of the resamples, the left-to-right one in {boot.UnidirectionalWins:P1}.

            Note: the left-to-right encoder has one direction of the same width, so it has fewer encoder weights; the parameter column says how many.
            """;
        return new ExperimentResult(verdict, text,
            $"Inconclusive if either model's dev BLEU is below {LearnedDevBleu} (it has not learned to translate) or both test BLEUs are below {MinimumBleu}. Otherwise: supported if the bidirectional encoder wins ≥ 95 % of the paired bootstrap resamples and has the lower dev loss; "
            + "partly supported if only one of the two; not supported if the left-to-right encoder wins ≥ 95 % of the resamples; else inconclusive.",
            [context.Save(new LinePlot("GRU translator: training loss, bidirectional vs left-to-right encoder",
                "optimizer step (same batches for both)", "training cross-entropy (nats/target token, moving average)", curves),
                "training_loss.png", "Training loss of both encoders over the same batches")],
            new { setup, Runs = runs, Bootstrap = boot, Curves = curves }, body);
    }

    /// <summary>Trailing moving average over <paramref name="window"/> values.</summary>
    private static double[] Smooth(IReadOnlyList<double> values, int window) =>
        values.Select((_, i) => values.Skip(Math.Max(0, i - window + 1)).Take(Math.Min(window, i + 1)).Average()).ToArray();

    /// <summary>Resamples sentence indices with replacement and recomputes both corpus BLEUs from per-sentence statistics.</summary>
    public static Bootstrap PairedBootstrap(IReadOnlyList<string> a, IReadOnlyList<string> b, IReadOnlyList<string> references, int resamples, int seed)
    {
        var sa = references.Select((r, i) => Bleu.Corpus([a[i]], [[r]])).ToArray();
        var sb = references.Select((r, i) => Bleu.Corpus([b[i]], [[r]])).ToArray();
        var random = new Random(seed);
        int n = references.Count, aWins = 0, bWins = 0;
        var deltas = new double[resamples];
        for (int k = 0; k < resamples; k++)
        {
            var pick = Enumerable.Range(0, n).Select(_ => random.Next(n)).ToArray();
            double delta = Score(sa, pick) - Score(sb, pick);
            deltas[k] = delta;
            if (delta > 0) aWins++;
            else if (delta < 0) bWins++;
        }
        Array.Sort(deltas);
        return new Bootstrap(resamples, (double)aWins / resamples, (double)bWins / resamples, deltas.Average(),
                             Stats.Quantile(deltas, 0.025), Stats.Quantile(deltas, 0.975));
    }

    private static double Score(BleuScore[] sentences, int[] pick)
    {
        var correct = new long[Bleu.MaxOrder];
        var total = new long[Bleu.MaxOrder];
        long hyp = 0, reference = 0;
        foreach (int i in pick)
        {
            for (int o = 0; o < Bleu.MaxOrder; o++) { correct[o] += sentences[i].Correct[o]; total[o] += sentences[i].Total[o]; }
            hyp += sentences[i].HypothesisLength;
            reference += sentences[i].ReferenceLength;
        }
        return Bleu.FromStatistics(correct, total, hyp, reference).Score;
    }
}
