using TorchSharp;
using TorchSharp.Modules;
using Transformers.Modules;
using static TorchSharp.torch;

namespace Transformers.Attention;

/// <summary>
/// Multi-head attention, Vaswani et al. 2017, §3.2.2: MultiHead(Q, K, V) = Concat(head_1..head_h) W^O,
/// head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V). Batch-first. <see cref="SelfAttention"/> serves as encoder
/// self-attention and masked decoder self-attention (causal mask), <see cref="CrossAttention"/> as encoder-decoder
/// attention (keys and values from the encoder output). Unlike TorchSharp's nn.MultiheadAttention it returns per-head probabilities
/// [batch, heads, tgt, src] on request and never stores them on the module.
/// </summary>
public sealed class MultiHeadAttention : nn.Module
{
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly Linear output;

    public int DModel { get; }
    public int NumHeads { get; }
    public int HeadDim { get; }
    public double Dropout { get; }

    public MultiHeadAttention(int dModel, int numHeads, double dropout = 0.0, bool bias = true) : base(nameof(MultiHeadAttention))
    {
        if (numHeads <= 0 || dModel <= 0 || dModel % numHeads != 0)
            throw new ArgumentException($"dModel ({dModel}) must be a positive multiple of numHeads ({numHeads})");
        DModel = dModel;
        NumHeads = numHeads;
        HeadDim = dModel / numHeads;
        Dropout = dropout;
        query = nn.Linear(dModel, dModel, bias);
        key = nn.Linear(dModel, dModel, bias);
        value = nn.Linear(dModel, dModel, bias);
        output = nn.Linear(dModel, dModel, bias);
        RegisterComponents();
    }

    /// <summary>
    /// Self-attention: queries, keys and values all from x [batch, seq, dModel], projected by one matrix multiply (as
    /// PyTorch's in_proj) when gradients are on, by three without them. mask: bool, broadcastable to [batch, heads, seq, seq] (padding, or causal for a
    /// decoder); headMask: [heads] (1 keeps a head, 0 switches it off). Returns output [batch, seq, dModel] and, if
    /// requested, probabilities [batch, heads, seq, seq].
    /// </summary>
    public AttentionResult SelfAttention(Tensor x, Tensor? mask = null, bool returnProbabilities = false, Tensor? headMask = null)
    {
        using var scope = NewDisposeScope();
        CheckInput(x);
        // Training: one product with W^Q, W^K, W^V stacked (one GEMM forward and backward). Inference: three products,
        // since stacking copies the three matrices at every call, which at small batches costs more than it saves.
        var (q, k, v) = is_grad_enabled() ? ProjectQkv(x, FusedQkv()) : (ProjectQueries(x), ProjectKeys(x), ProjectValues(x));
        var result = Attend(q, k, v, mask, returnProbabilities, headMask);
        return new AttentionResult(result.Output.MoveToOuterDisposeScope(), result.Probabilities?.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Cross-attention: queries from x [batch, tgt, dModel], keys and values from memory [batch, src, dModel] (the
    /// encoder's output). mask: bool, broadcastable to [batch, heads, tgt, src]; headMask: [heads]. Returns output
    /// [batch, tgt, dModel] and, if requested, probabilities [batch, heads, tgt, src].
    /// </summary>
    public AttentionResult CrossAttention(Tensor x, Tensor memory, Tensor? mask = null, bool returnProbabilities = false, Tensor? headMask = null)
    {
        using var scope = NewDisposeScope();
        CheckInput(x);
        if (memory.dim() != 3 || memory.shape[2] != DModel || memory.shape[0] != x.shape[0])
            throw new ArgumentException($"attention memory must be [{x.shape[0]}, seq, {DModel}]; got {ScaledDotProductAttention.Shape(memory)}");
        var result = Attend(ProjectQueries(x), ProjectKeys(memory), ProjectValues(memory), mask, returnProbabilities, headMask);
        return new AttentionResult(result.Output.MoveToOuterDisposeScope(), result.Probabilities?.MoveToOuterDisposeScope());
    }

    private void CheckInput(Tensor x)
    {
        if (x.dim() != 3 || x.shape[2] != DModel)
            throw new ArgumentException($"attention input must be [batch, seq, {DModel}]; got {ScaledDotProductAttention.Shape(x)}");
    }

    /// <summary>Attention over already projected heads, then the output projection. q: [batch, heads, tgt, headDim]; k, v: [batch, heads, src, headDim].</summary>
    public AttentionResult Attend(Tensor q, Tensor k, Tensor v, Tensor? mask, bool returnProbabilities, Tensor? headMask = null)
    {
        using var scope = NewDisposeScope();
        CheckMask(mask, q.shape[0], q.shape[2], k.shape[2]);
        var (heads, probs) = ScaledDotProductAttention.Compute(q, k, v, mask, returnProbabilities, Dropout, training);
        if (headMask is not null)
        {
            if (headMask.dim() != 1 || headMask.shape[0] != NumHeads)
                throw new ArgumentException($"head mask must be [{NumHeads}]; got {ScaledDotProductAttention.Shape(headMask)}");
            var m = headMask.to(heads.dtype).view(1, NumHeads, 1, 1);             // [1, heads, 1, 1]
            heads = heads.mul(m);
            probs = probs?.mul(m);
        }
        var merged = heads.transpose(1, 2).reshape(heads.shape[0], heads.shape[2], DModel); // [batch, tgt, dModel]
        var y = output.forward(merged);                                           // [batch, tgt, dModel]
        return new AttentionResult(y.MoveToOuterDisposeScope(), probs?.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// W^Q, W^K and W^V stacked [3 dModel, dModel] (and their biases [3 dModel]), as PyTorch's in_proj_weight: one matrix
    /// multiply projects all three. A decoder computes it once per sentence (<see cref="ProjectQkv"/> at every step).
    /// Laid out as the weights are: input-major ones (<see cref="LinearLayout"/>) give a view of [dModel, 3 dModel] storage.
    /// </summary>
    public (Tensor Weight, Tensor? Bias) FusedQkv() =>
        (LinearLayout.IsInputMajor(query.weight!) ? cat([query.weight!.t(), key.weight!.t(), value.weight!.t()], 1).t() : cat([query.weight!, key.weight!, value.weight!], 0),
         query.bias is null ? null : cat([query.bias!, key.bias!, value.bias!], 0));

    /// <summary>x: [batch, seq, dModel] -> queries, keys and values [batch, heads, seq, headDim] from one product with <paramref name="fused"/> (<see cref="FusedQkv"/>).</summary>
    public (Tensor Q, Tensor K, Tensor V) ProjectQkv(Tensor x, (Tensor Weight, Tensor? Bias) fused)
    {
        var qkv = nn.functional.linear(x, fused.Weight, fused.Bias)
            .view(x.shape[0], x.shape[1], 3, NumHeads, HeadDim)                   // [batch, seq, 3, heads, headDim]
            .permute(2, 0, 3, 1, 4);                                              // [3, batch, heads, seq, headDim]
        return (qkv[0], qkv[1], qkv[2]);
    }

    /// <summary>x: [batch, seq, dModel] -> [batch, heads, seq, headDim]; the key projection, for a cache of encoder keys.</summary>
    public Tensor ProjectKeys(Tensor x) => SplitHeads(key.forward(x));

    /// <summary>x: [batch, seq, dModel] -> [batch, heads, seq, headDim]; the value projection.</summary>
    public Tensor ProjectValues(Tensor x) => SplitHeads(value.forward(x));

    /// <summary>x: [batch, seq, dModel] -> [batch, heads, seq, headDim]; the query projection.</summary>
    public Tensor ProjectQueries(Tensor x) => SplitHeads(query.forward(x));

    private Tensor SplitHeads(Tensor t) =>
        t.view(t.shape[0], t.shape[1], NumHeads, HeadDim).transpose(1, 2);        // [batch, heads, seq, headDim]

    private void CheckMask(Tensor? mask, long batch, long tgt, long src)
    {
        if (mask is null) return;
        long[] want = [batch, NumHeads, tgt, src];
        var shape = mask.shape;
        bool ok = shape.Length == 4;
        for (int i = 0; ok && i < 4; i++) ok = shape[i] == 1 || shape[i] == want[i];
        if (!ok)
            throw new ArgumentException($"attention mask {ScaledDotProductAttention.Shape(mask)} does not broadcast to [batch {batch}, heads {NumHeads}, tgt {tgt}, src {src}]");
    }
}
