using TorchSharp;
using TorchSharp.Modules;
using Transformers.Bert;
using Transformers.Modules;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Attention;

/// <summary>
/// A residual connection around a sublayer, with the sublayer's LayerNorm and dropout (Vaswani et al. 2017 §5.4; the
/// Annotated Transformer's SublayerConnection). Post-LN, as the paper and BERT: LayerNorm(x + Dropout(f(x))); pre-LN
/// (Xiong et al. 2020): x + Dropout(f(LayerNorm(x))). Its parameters are the LayerNorm's, <c>weight</c> and <c>bias</c>,
/// so a layer that names it after its LayerNorm (<c>self_attn_norm</c>) keeps the state-dict names of a bare LayerNorm,
/// and checkpoints written before it existed load unchanged.
/// </summary>
public sealed class SublayerConnection : nn.Module
{
    private readonly Parameter weight;                    // LayerNorm γ [dModel]
    private readonly Parameter bias;                      // LayerNorm β [dModel]
    private readonly SeededDropout dropout;
    private readonly long[] normalizedShape;
    private readonly double eps;

    public NormPosition Position { get; }

    public SublayerConnection(int dModel, NormPosition position, double dropout, double eps = 1e-5) : base(nameof(SublayerConnection))
    {
        weight = nn.Parameter(ones(dModel));
        bias = nn.Parameter(zeros(dModel));
        this.dropout = new SeededDropout(dropout);
        normalizedShape = [dModel];
        this.eps = eps;
        Position = position;
        RegisterComponents();
    }

    /// <summary>The LayerNorm alone: x [..., dModel] -> [..., dModel] (what nn.LayerNorm computes).</summary>
    public Tensor Norm(Tensor x) => nn.functional.layer_norm(x, normalizedShape, weight, bias, eps);

    /// <summary>x: [batch, len, dModel] -> [batch, len, dModel]; <paramref name="sublayer"/> keeps the shape (a feed-forward).</summary>
    public Tensor Forward(Tensor x, Func<Tensor, Tensor> sublayer) =>
        Position == NormPosition.Pre ? x + dropout.forward(sublayer(Norm(x))) : Norm(x + dropout.forward(sublayer(x)));

    /// <summary>The same around an attention sublayer: the block's output [batch, len, dModel] and the attention's probabilities (if it returned them).</summary>
    public AttentionResult ForwardAttention(Tensor x, Func<Tensor, AttentionResult> attention)
    {
        var (output, probabilities) = attention(Position == NormPosition.Pre ? Norm(x) : x);
        var y = Position == NormPosition.Pre ? x + dropout.forward(output) : Norm(x + dropout.forward(output));
        return new AttentionResult(y, probabilities);
    }
}

/// <summary>Position-wise feed-forward: FFN(x) = W₂ Dropout(act(W₁ x + b₁)) + b₂ (Vaswani et al. eq. 2 with ReLU; BERT's with GELU and no inner dropout).</summary>
public sealed class FeedForward : nn.Module
{
    private readonly Linear w1;                           // [dFf, dModel]
    private readonly Linear w2;                           // [dModel, dFf]
    private readonly SeededDropout dropout;
    private readonly Activation activation;

    public FeedForward(int dModel, int dFf, Activation activation, double dropout) : base(nameof(FeedForward))
    {
        w1 = nn.Linear(dModel, dFf);
        w2 = nn.Linear(dFf, dModel);
        this.dropout = new SeededDropout(dropout);
        this.activation = activation;
        RegisterComponents();
    }

    /// <summary>x: [batch, len, dModel] -> [batch, len, dModel]</summary>
    public Tensor Forward(Tensor x) => w2.forward(dropout.forward(Activate(w1.forward(x), activation)));

    public static Tensor Activate(Tensor x, Activation activation) => activation switch
    {
        Activation.Gelu => nn.functional.gelu(x),
        Activation.GeluTanh => nn.functional.gelu(x, GELU.Approximate.tanh),
        Activation.Relu => nn.functional.relu(x),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "unknown activation"),
    };
}

/// <summary>What sizes an <see cref="EncoderLayer"/>.</summary>
/// <param name="Dropout">on each sublayer's output, before the residual sum</param>
/// <param name="AttentionDropout">on the attention probabilities</param>
/// <param name="ActivationDropout">inside the feed-forward, after the activation (0 in BERT)</param>
public sealed record EncoderLayerConfig(int DModel, int NumHeads, int DFf, NormPosition Norm, Activation Activation,
                                        double Dropout, double AttentionDropout, double ActivationDropout, double LayerNormEps = 1e-5);

/// <summary>
/// One Transformer encoder layer: self-attention, then the feed-forward, each inside a <see cref="SublayerConnection"/>.
/// Post-LN it is BERT's layer (Devlin et al. 2019; <see cref="BertModel"/>, whose weights map to HF's names in
/// <see cref="BertWeights"/>) and the paper's; pre-LN the translator's default. Parameters: self_attn (query, key,
/// value, output), self_attn_norm, ffn (w1, w2), ffn_norm.
/// </summary>
public sealed class EncoderLayer : nn.Module
{
    private readonly MultiHeadAttention self_attn;
    private readonly SublayerConnection self_attn_norm;
    private readonly FeedForward ffn;
    private readonly SublayerConnection ffn_norm;

    public EncoderLayer(EncoderLayerConfig c) : base(nameof(EncoderLayer))
    {
        self_attn = new MultiHeadAttention(c.DModel, c.NumHeads, c.AttentionDropout);
        self_attn_norm = new SublayerConnection(c.DModel, c.Norm, c.Dropout, c.LayerNormEps);
        ffn = new FeedForward(c.DModel, c.DFf, c.Activation, c.ActivationDropout);
        ffn_norm = new SublayerConnection(c.DModel, c.Norm, c.Dropout, c.LayerNormEps);
        RegisterComponents();
    }

    public MultiHeadAttention SelfAttention => self_attn;

    /// <summary>x: [batch, seq, dModel]; mask: [batch, 1, 1, seq] bool (or null); headMask: [heads] -> ([batch, seq, dModel], probabilities [batch, heads, seq, seq] when <paramref name="returnProbabilities"/>)</summary>
    public AttentionResult Forward(Tensor x, Tensor? mask, bool returnProbabilities, Tensor? headMask = null)
    {
        using var scope = NewDisposeScope();
        var (h, probabilities) = self_attn_norm.ForwardAttention(x, t => self_attn.SelfAttention(t, mask, returnProbabilities, headMask));
        var y = ffn_norm.Forward(h, ffn.Forward);                                             // [batch, seq, dModel]
        return new AttentionResult(y.MoveToOuterDisposeScope(), probabilities?.MoveToOuterDisposeScope());
    }
}
