using Transformers.Bert;
using static TorchSharp.torch;

namespace Transformers.Tests.Bert;

/// <summary>
/// A toy masked-language-model loop over fixed id tensors, for tests that need a tiny BERT that has learned something
/// (the product's pretraining is <c>MlmTrainer</c> over <c>MlmData</c>, whose masking has its own tests): BERT's 80/10/10
/// masking drawn on the device from a seeded generator, AdamW, linear warmup and decay, clipping.
/// </summary>
internal static class ToyMlm
{
    /// <summary>Trains on (ids, mask) batches in turn for <paramref name="steps"/> steps; [CLS]/[SEP]/[PAD] are <paramref name="specialIds"/>. Returns every step's loss.</summary>
    public static IReadOnlyList<float> Train(BertForMaskedLM model, IReadOnlyList<(Tensor Ids, Tensor Mask)> batches, long maskId, IReadOnlySet<long> specialIds,
                                             int steps, double learningRate, int warmupSteps = 10, double maskProbability = 0.15, int seed = 0)
    {
        var generator = new Generator((ulong)seed);
        var optimizer = optim.AdamW(model.parameters(), learningRate, weight_decay: 0.01);
        var losses = new List<float>();
        model.train();
        for (int step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var (ids, mask) = batches[step % batches.Count];
            var special = zeros_like(ids, ScalarType.Bool);
            foreach (var s in specialIds) special = special.logical_or(ids.eq(s));
            var selected = rand(ids.shape, generator: generator).lt(maskProbability).logical_and(special.logical_not());
            var labels = ids.masked_fill(selected.logical_not(), BertForMaskedLM.IgnoreIndex);
            var roll = rand(ids.shape, generator: generator);
            var toMask = selected.logical_and(roll.lt(0.8));                                        // 80 % [MASK]
            var toRandom = selected.logical_and(roll.ge(0.8)).logical_and(roll.lt(0.9));            // 10 % a random token, 10 % kept
            var randomIds = randint(model.Config.VocabSize, ids.shape, generator: generator, dtype: ScalarType.Int64);
            var inputs = ids.masked_fill(toMask, maskId).where(toRandom.logical_not(), randomIds);
            double lr = learningRate * (step < warmupSteps ? (step + 1.0) / warmupSteps : Math.Max(0.0, (steps - step) / (double)Math.Max(1, steps - warmupSteps)));
            foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
            optimizer.zero_grad();
            var loss = model.Loss(inputs, mask, labels);
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
            losses.Add(loss.item<float>());
        }
        model.eval();
        return losses;
    }
}
