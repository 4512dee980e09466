using TorchSharp;
using static TorchSharp.torch;

namespace Transformers.Lab.Experiments;

/// <summary>
/// Delayed recall (a copy task after Hochreiter &amp; Schmidhuber 1997, §5): the model reads <see cref="Items"/> random
/// symbols, blanks, then <see cref="Items"/> recall markers, and at each recall marker must output the symbol shown
/// exactly <see cref="Delay"/> positions earlier. Only the recall positions are scored.
/// <code>
/// position: 0 .. K-1     K .. Delay-1   Delay .. Delay+K-1
/// input:    s_1 .. s_K   blank ...      recall ... recall
/// target:   -            -              s_1 .. s_K
/// </code>
/// Tokens: 0 blank, 1..Symbols the symbols, Symbols + 1 the recall marker. Chance accuracy 1 / Symbols.
/// </summary>
public sealed record CopyTask(int Delay, int Items = 3, int Symbols = 8)
{
    public const long Ignore = -100;

    public int Vocab => Symbols + 2;
    public int Length => Delay + Items;
    public double Chance => 1.0 / Symbols;

    /// <summary>A batch drawn from <paramref name="random"/>: ids [batch, length], targets [batch, length] (Ignore off the recall positions).</summary>
    public (Tensor Ids, Tensor Targets) Batch(int batch, Random random)
    {
        if (Delay < Items) throw new ArgumentException($"delay {Delay} must be at least the number of items {Items}");
        var ids = new long[batch, Length];
        var targets = new long[batch, Length];
        for (var b = 0; b < batch; b++)
        {
            for (var t = 0; t < Length; t++) targets[b, t] = Ignore;
            for (var k = 0; k < Items; k++)
            {
                long symbol = random.Next(1, Symbols + 1);
                ids[b, k] = symbol;
                ids[b, Delay + k] = Symbols + 1;
                targets[b, Delay + k] = symbol;
            }
        }
        return (tensor(ids), tensor(targets));
    }
}

/// <summary>Training budget, the same for every architecture: Adam, gradient clipping, fixed steps and batch.</summary>
public sealed record TrainingBudget(int Steps, int Batch, double LearningRate = 2e-3, double ClipNorm = 1.0);

/// <summary>Trains and scores <see cref="SequenceModel"/>s on a <see cref="CopyTask"/>.</summary>
public static class CopyTraining
{
    /// <summary>Trains in place; returns the loss of the last step (mean cross-entropy over the recall positions).</summary>
    public static double Train(SequenceModel model, CopyTask task, TrainingBudget budget, Random random)
    {
        model.train();
        using var optimizer = optim.Adam(model.parameters(), budget.LearningRate);
        double last = double.NaN;
        for (var step = 0; step < budget.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var (ids, targets) = task.Batch(budget.Batch, random);
            var logits = model.forward(ids);                                                    // [batch, length, vocab]
            var loss = nn.functional.cross_entropy(logits.view(-1, task.Vocab), targets.view(-1),
                ignore_index: CopyTask.Ignore);
            optimizer.zero_grad();
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), budget.ClipNorm);
            optimizer.step();
            if (step == budget.Steps - 1) last = loss.item<float>();
        }
        model.eval();
        return last;
    }

    /// <summary>Fraction of recall positions predicted exactly, on <paramref name="samples"/> fresh sequences.</summary>
    public static double Accuracy(SequenceModel model, CopyTask task, int samples, Random random)
    {
        model.eval();
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var (ids, targets) = task.Batch(samples, random);
        var predicted = model.forward(ids).argmax(2);                                           // [batch, length]
        var scored = targets.ne(CopyTask.Ignore);
        return predicted.eq(targets).logical_and(scored).sum().item<long>() / (double)scored.sum().item<long>();
    }
}
