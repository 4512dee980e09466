using Transformers.Attention;
using static TorchSharp.torch;

namespace Transformers.Tests.Attention;

public sealed class AttentionTests
{
    private static (Tensor Q, Tensor K, Tensor V) Random(long batch, long heads, long tgt, long src, long headDim, int seed)
    {
        manual_seed(seed);
        return (randn(batch, heads, tgt, headDim), randn(batch, heads, src, headDim), randn(batch, heads, src, headDim));
    }

    [Fact]
    public void FusedAndProbabilityPaths_Agree_WithPaddingAndCausalMasks()
    {
        var (q, k, v) = Random(3, 4, 7, 7, 8, seed: 1);
        var pad = AttentionMask.Padding(tensor(new long[,] { { 1, 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 0, 0, 0 }, { 1, 1, 0, 0, 0, 0, 0 } }));
        foreach (var mask in new[] { null, pad, AttentionMask.Causal(7, 7), AttentionMask.And(pad, AttentionMask.Causal(7, 7)) })
        {
            var fused = ScaledDotProductAttention.Compute(q, k, v, mask, returnProbabilities: false);
            var withProbs = ScaledDotProductAttention.Compute(q, k, v, mask, returnProbabilities: true);
            Assert.Null(fused.Probabilities);
            Assert.NotNull(withProbs.Probabilities);
            Assert.True(fused.Output.allclose(withProbs.Output, rtol: 0, atol: 1e-5), $"max diff {(fused.Output - withProbs.Output).abs().max().item<float>()}");
        }
    }

    [Fact]
    public void Probabilities_AreExactlyZeroOnMaskedKeys_AndRowsSumToOne()
    {
        var (q, k, v) = Random(2, 3, 5, 5, 4, seed: 2);
        var mask = AttentionMask.And(AttentionMask.Padding(tensor(new long[,] { { 1, 1, 1, 0, 0 }, { 1, 1, 1, 1, 1 } })), AttentionMask.Causal(5, 5))!;
        var p = ScaledDotProductAttention.Compute(q, k, v, mask, returnProbabilities: true).Probabilities!;
        Assert.Equal(new long[] { 2, 3, 5, 5 }, p.shape);
        var full = mask.expand(2, 3, 5, 5);
        Assert.Equal(0f, p.masked_select(full.logical_not()).abs().max().item<float>());      // exactly 0
        Assert.True(p.masked_select(full).min().item<float>() > 0);
        Assert.True(p.sum(-1).allclose(ones(2, 3, 5), rtol: 0, atol: 1e-6));
        // Causal: query 0 sees only key 0.
        Assert.Equal(1f, p[0, 0, 0, 0].item<float>());
    }

    [Fact]
    public void Probabilities_MatchAHandComputedExample()
    {
        // One head, q = [1, 0], keys [1, 0] and [0, 1], scale 1/sqrt(2): softmax([1/sqrt2, 0]).
        var q = tensor(new float[] { 1, 0 }).view(1, 1, 1, 2);
        var k = tensor(new float[] { 1, 0, 0, 1 }).view(1, 1, 2, 2);
        var v = tensor(new float[] { 10, 0, 0, 20 }).view(1, 1, 2, 2);
        var r = ScaledDotProductAttention.Compute(q, k, v, null, returnProbabilities: true);
        double e = Math.Exp(1 / Math.Sqrt(2));
        double p0 = e / (e + 1), p1 = 1 / (e + 1);
        Assert.Equal(p0, r.Probabilities![0, 0, 0, 0].item<float>(), 6);
        Assert.Equal(p1, r.Probabilities![0, 0, 0, 1].item<float>(), 6);
        Assert.Equal(10 * p0, r.Output[0, 0, 0, 0].item<float>(), 5);
        Assert.Equal(20 * p1, r.Output[0, 0, 0, 1].item<float>(), 5);
    }

    [Fact]
    public void MultiHead_SelfMaskedSelfAndCross_ReturnPerHeadProbabilities()
    {
        manual_seed(3);
        using var mha = new MultiHeadAttention(dModel: 16, numHeads: 4);
        mha.eval();
        var x = randn(2, 5, 16);
        var memory = randn(2, 9, 16);
        var self = mha.SelfAttention(x, AttentionMask.Padding(tensor(new long[,] { { 1, 1, 1, 1, 1 }, { 1, 1, 1, 0, 0 } })), returnProbabilities: true);
        var masked = mha.SelfAttention(x, AttentionMask.Causal(5, 5), returnProbabilities: true);
        var cross = mha.CrossAttention(x, memory, null, returnProbabilities: true);
        Assert.Equal(new long[] { 2, 5, 16 }, self.Output.shape);
        Assert.Equal(new long[] { 2, 4, 5, 5 }, self.Probabilities!.shape);
        Assert.Equal(new long[] { 2, 4, 5, 9 }, cross.Probabilities!.shape);
        Assert.Equal(new long[] { 2, 5, 16 }, cross.Output.shape);
        Assert.Equal(0f, masked.Probabilities![.., .., 0, 1..].abs().max().item<float>());
        Assert.Equal(0f, self.Probabilities![1, .., .., 3..].abs().max().item<float>());
        // Heads are distinct distributions, not an average.
        Assert.False(self.Probabilities[0, 0].allclose(self.Probabilities[0, 1]));
        // Without probabilities, the same output.
        var plain = mha.CrossAttention(x, memory, null, returnProbabilities: false);
        Assert.Null(plain.Probabilities);
        Assert.True(plain.Output.allclose(cross.Output, rtol: 0, atol: 1e-5));
        // Self-attention's one fused Q/K/V product gives what three separate projections give.
        var separate = mha.CrossAttention(x, x, AttentionMask.Causal(5, 5), returnProbabilities: true);
        Assert.True(separate.Output.allclose(masked.Output, rtol: 0, atol: 1e-5));
        Assert.True(separate.Probabilities!.allclose(masked.Probabilities!, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void SublayerConnection_IsPostOrPreLayerNormAroundTheSublayer_WithALayerNormsParameters()
    {
        manual_seed(5);
        var x = randn(2, 3, 8);
        using var reference = nn.LayerNorm(8);
        using (no_grad())
        {
            reference.weight!.copy_(randn(8));
            reference.bias!.copy_(randn(8));
        }
        Tensor F(Tensor t) => t.tanh() * 2;                                                 // any sublayer
        foreach (var position in new[] { Transformers.Translation.NormPosition.Post, Transformers.Translation.NormPosition.Pre })
        {
            using var block = new SublayerConnection(8, position, dropout: 0);
            Assert.Equal(["bias", "weight"], block.state_dict().Keys.Order());               // a bare LayerNorm's names
            block.load_state_dict(reference.state_dict());
            var expected = position == Transformers.Translation.NormPosition.Post ? reference.forward(x + F(x)) : x + F(reference.forward(x));
            Assert.True(block.Forward(x, F).equal(expected).all().item<bool>(), $"{position}");
            var (output, probabilities) = block.ForwardAttention(x, t => new AttentionResult(F(t), ones(1)));
            Assert.True(output.equal(expected).all().item<bool>(), $"{position}, attention");
            Assert.NotNull(probabilities);
        }
    }

    [Fact]
    public void HeadMask_SwitchesOneHeadOff()
    {
        manual_seed(4);
        using var mha = new MultiHeadAttention(dModel: 8, numHeads: 2);
        var x = randn(1, 3, 8);
        var r = mha.SelfAttention(x, null, returnProbabilities: true, headMask: tensor(new float[] { 1, 0 }));
        Assert.Equal(0f, r.Probabilities![0, 1].abs().max().item<float>());
        Assert.True(r.Probabilities[0, 0].sum(-1).allclose(ones(3)));
    }

    [Fact]
    public void BadInput_NamesTheShapesAndLimits()
    {
        Assert.Contains("divisible", Assert.Throws<ArgumentException>(() => new Transformers.Bert.BertConfig { HiddenSize = 30, NumAttentionHeads = 4 }.Validate()).Message);
        Assert.Contains("multiple of numHeads", Assert.Throws<ArgumentException>(() => new MultiHeadAttention(10, 3)).Message);
        using var mha = new MultiHeadAttention(8, 2);
        var x = randn(2, 3, 8);
        var e = Assert.Throws<ArgumentException>(() => mha.SelfAttention(x, ones(2, 1, 1, 4, ScalarType.Bool)));
        Assert.Contains("[2, 1, 1, 4]", e.Message);
        Assert.Contains("src 3", e.Message);
        Assert.Contains("[batch, seq, 8]", Assert.Throws<ArgumentException>(() => mha.SelfAttention(randn(2, 3, 5))).Message);
        Assert.Contains("memory must be [2, seq, 8]", Assert.Throws<ArgumentException>(() => mha.CrossAttention(x, randn(3, 4, 8))).Message);
        Assert.Contains("boolean", Assert.Throws<ArgumentException>(() => ScaledDotProductAttention.Compute(randn(1, 1, 2, 2), randn(1, 1, 2, 2), randn(1, 1, 2, 2), ones(1, 1, 2, 2), true)).Message);
    }
}
