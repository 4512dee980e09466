using static TorchSharp.torch;

namespace Transformers.Attention;

/// <summary>Boolean attention masks, <c>true</c> where a query may attend to a key.</summary>
public static class AttentionMask
{
    /// <summary>keyIsToken: [batch, src] (bool, or 0/1 integers as in HF's attention_mask) -> [batch, 1, 1, src].</summary>
    public static Tensor Padding(Tensor keyIsToken)
    {
        if (keyIsToken.dim() != 2)
            throw new ArgumentException($"padding mask must be [batch, seq]; got {ScaledDotProductAttention.Shape(keyIsToken)}");
        var valid = keyIsToken.dtype == ScalarType.Bool ? keyIsToken : keyIsToken.ne(0);
        return valid.unsqueeze(1).unsqueeze(1);                                   // [batch, 1, 1, src]
    }

    /// <summary>
    /// Causal mask [1, 1, tgt, src]: query i sees keys 0 .. i + (src - tgt). With src == tgt this is the
    /// lower triangle; with a key/value cache (src > tgt) the new queries see the whole past.
    /// </summary>
    public static Tensor Causal(long tgt, long src, Device? device = null)
    {
        if (src < tgt) throw new ArgumentException($"causal mask needs src >= tgt; got tgt {tgt}, src {src}");
        return ones(tgt, src, ScalarType.Bool, device).tril(src - tgt).unsqueeze(0).unsqueeze(0); // [1, 1, tgt, src]
    }

    /// <summary>Both conditions (either may be null).</summary>
    public static Tensor? And(Tensor? a, Tensor? b) => a is null ? b : b is null ? a : a.logical_and(b);
}
