using TorchSharp;
using Transformers.Modules;
using static TorchSharp.torch;

namespace Transformers.Attention;

/// <summary>What one attention call computed: its output and, when asked for, its probabilities.</summary>
/// <param name="Output">[batch, heads, tgt, headDim]</param>
/// <param name="Probabilities">[batch, heads, tgt, src], one distribution per head (never averaged); null when not requested.</param>
public sealed record AttentionResult(Tensor Output, Tensor? Probabilities);

/// <summary>
/// Scaled dot-product attention, Vaswani et al. 2017, eq. 1: softmax(Q Kᵀ / √d_k) V.
/// A pure function: nothing is stored. Masks are boolean, <c>true</c> where a query may attend to a key,
/// broadcastable to [batch, heads, tgt, src]; masked keys get probability exactly 0.
/// </summary>
public static class ScaledDotProductAttention
{
    /// <summary>
    /// q: [batch, heads, tgt, headDim]; k, v: [batch, heads, src, headDim]; mask: bool, broadcastable to [batch, heads, tgt, src].
    /// With <paramref name="returnProbabilities"/> false the fused libtorch kernel runs and no probabilities are built.
    /// A query row whose keys are all masked yields zeros (probabilities and output), never NaN.
    /// </summary>
    public static AttentionResult Compute(Tensor q, Tensor k, Tensor v, Tensor? mask, bool returnProbabilities,
                                          double dropout = 0.0, bool training = false)
    {
        if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4)
            throw new ArgumentException($"attention expects 4-d q, k, v [batch, heads, seq, headDim]; got q {Shape(q)}, k {Shape(k)}, v {Shape(v)}");
        if (mask is not null && mask.dtype != ScalarType.Bool)
            throw new ArgumentException($"attention mask must be boolean (true = may attend); got {mask.dtype}");
        double p = training ? dropout : 0.0;

        if (!returnProbabilities && (p == 0 || !DropoutNoise.IsSeeded))                // the fused kernel draws from the global generator
            return new AttentionResult(nn.functional.scaled_dot_product_attention(q, k, v, mask, p), null);

        using var scope = NewDisposeScope();
        double scale = 1.0 / Math.Sqrt(q.shape[^1]);
        var scores = matmul(q, k.transpose(-2, -1)).mul_(scale);                 // [batch, heads, tgt, src]
        if (mask is not null)
            scores = scores.masked_fill(mask.logical_not(), double.NegativeInfinity);
        var probs = scores.softmax(-1);                                           // [batch, heads, tgt, src]
        if (mask is not null)
            probs = probs.nan_to_num(0.0);                                        // rows with every key masked (not in place: softmax's backward needs its output)
        var attended = DropoutNoise.Apply(probs, p, p > 0);
        var output = matmul(attended, v);                                         // [batch, heads, tgt, headDim]
        return new AttentionResult(output.MoveToOuterDisposeScope(), returnProbabilities ? probs.MoveToOuterDisposeScope() : null);
    }

    internal static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}
