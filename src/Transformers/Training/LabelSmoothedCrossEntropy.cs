using TorchSharp;
using static TorchSharp.torch;

namespace Transformers.Training;

/// <summary>
/// The loss of a batch: the sums over its non-padding target tokens, so accumulation can normalise by the total (which
/// the batch knows on the host, <see cref="Data.TranslationBatch.TargetTokens"/>: counting it here would read the device).
/// </summary>
/// <param name="Loss">Σ label-smoothed cross-entropy (a scalar tensor with gradient)</param>
/// <param name="Nll">Σ negative log-likelihood of the true tokens (for perplexity; no gradient)</param>
public sealed record LossSums(Tensor Loss, Tensor Nll);

/// <summary>
/// Cross-entropy with label smoothing (Szegedy et al. 2016; Vaswani et al. §5.4): the target distribution puts 1 - ε on
/// the true token and spreads ε uniformly over the vocabulary, so the loss is (1 - ε)·NLL + ε·mean_v(-log p_v).
/// Padding positions are ignored.
/// </summary>
public static class LabelSmoothedCrossEntropy
{
    /// <summary>logits: [batch, tgt, vocab]; targets: [batch, tgt] int64 -> sums over non-padding positions.</summary>
    public static LossSums Compute(Tensor logits, Tensor targets, long padId, double epsilon)
    {
        if (epsilon is < 0 or >= 1) throw new ArgumentException($"label smoothing ε = {epsilon} must be in [0, 1)");
        using var scope = NewDisposeScope();
        var logp = logits.log_softmax(-1);                                                   // [batch, tgt, vocab]
        var keep = targets.ne(padId);                                                        // [batch, tgt]
        var nll = -logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1);                       // [batch, tgt]
        var smooth = -logp.mean([-1L]);                                                        // [batch, tgt]
        var perToken = nll * (1 - epsilon) + smooth * epsilon;
        var loss = perToken.masked_select(keep).sum();
        Tensor nllSum;
        using (no_grad()) nllSum = nll.masked_select(keep).sum().detach();
        return new LossSums(loss.MoveToOuterDisposeScope(), nllSum.MoveToOuterDisposeScope());
    }
}
