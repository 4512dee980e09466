using TorchSharp;
using TorchSharp.Modules;
using Transformers.Attention;
using Transformers.Modules;
using Transformers.Translation;
using static TorchSharp.torch;

namespace Transformers.Bert;

/// <summary>What <see cref="BertModel.Forward"/> should return besides the last hidden state and the pooled output.</summary>
[Flags]
public enum BertOutputs
{
    None = 0,
    /// <summary>The embedding output and every layer's output (num_hidden_layers + 1 tensors), as HF's hidden_states.</summary>
    HiddenStates = 1,
    /// <summary>Every layer's per-head attention probabilities [batch, heads, seq, seq] (slower: no fused kernel).</summary>
    Attentions = 2,
}

/// <summary>The result of a BERT forward pass.</summary>
/// <param name="LastHiddenState">[batch, seq, hidden]</param>
/// <param name="PooledOutput">[batch, hidden]: tanh(W h_[CLS] + b)</param>
/// <param name="HiddenStates">num_hidden_layers + 1 tensors [batch, seq, hidden], when requested</param>
/// <param name="Attentions">num_hidden_layers tensors [batch, heads, seq, seq], when requested</param>
public sealed record BertOutput(Tensor LastHiddenState, Tensor PooledOutput,
                                IReadOnlyList<Tensor>? HiddenStates, IReadOnlyList<Tensor>? Attentions);

/// <summary>
/// BERT (Devlin et al. 2019): embeddings, a stack of post-LN Transformer encoder layers, a pooler.
/// Module names follow HF's modeling_bert where they can (embeddings.word_embeddings, encoder.layer.N, pooler.dense);
/// <see cref="BertWeights"/> maps the few that differ. Attention is our <see cref="MultiHeadAttention"/>, so every
/// head's probabilities can be returned.
/// </summary>
public sealed class BertModel : nn.Module
{
    private readonly BertEmbeddings embeddings;
    private readonly BertEncoder encoder;
    private readonly BertPooler pooler;

    public BertConfig Config { get; }

    public BertModel(BertConfig config) : base(nameof(BertModel))
    {
        Config = config.Validate();
        embeddings = new BertEmbeddings(config);
        encoder = new BertEncoder(config);
        pooler = new BertPooler(config);
        RegisterComponents();
        BertInit.Apply(this, config.InitializerRange);
    }

    /// <summary>The word embedding table [vocab, hidden] (tied to the MLM decoder).</summary>
    public Parameter WordEmbeddings => embeddings.WordEmbeddingWeight;

    /// <summary>
    /// inputIds: [batch, seq] int64; attentionMask: [batch, seq], 1 (or true) for tokens, 0 for padding (null: all tokens);
    /// tokenTypeIds: [batch, seq] (null: all 0); headMask: [layers, heads], 1 keeps a head, 0 switches it off.
    /// </summary>
    public BertOutput Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null,
                              BertOutputs outputs = BertOutputs.None, Tensor? headMask = null)
    {
        CheckInputs(inputIds, attentionMask, tokenTypeIds, headMask);
        using var scope = NewDisposeScope();
        var mask = attentionMask is null ? null : AttentionMask.Padding(attentionMask);   // [batch, 1, 1, seq]
        var x = embeddings.Forward(inputIds, tokenTypeIds);                                // [batch, seq, hidden]
        var hidden = outputs.HasFlag(BertOutputs.HiddenStates) ? new List<Tensor> { x } : null;
        var attentions = outputs.HasFlag(BertOutputs.Attentions) ? new List<Tensor>() : null;
        for (int i = 0; i < encoder.Layers.Count; i++)
        {
            var (y, probs) = encoder.Layers[i].Forward(x, mask, attentions is not null, headMask?[i]);
            x = y;
            hidden?.Add(x);
            if (probs is not null) attentions!.Add(probs);
        }
        var pooled = pooler.Forward(x);                                                    // [batch, hidden]
        // Move each tensor out exactly once (a second move would lift it past the caller's scope):
        // the last hidden state is also the last entry of the hidden states.
        if (hidden is null) x.MoveToOuterDisposeScope();
        else foreach (var t in hidden) t.MoveToOuterDisposeScope();
        attentions?.ForEach(t => t.MoveToOuterDisposeScope());
        return new BertOutput(x, pooled.MoveToOuterDisposeScope(), hidden, attentions);
    }

    private void CheckInputs(Tensor ids, Tensor? mask, Tensor? types, Tensor? headMask)
    {
        if (ids.dim() != 2)
            throw new ArgumentException($"input ids must be [batch, seq]; got {Shape(ids)}");
        long seq = ids.shape[1];
        if (seq == 0) throw new ArgumentException("input ids are empty (sequence length 0)");
        if (seq > Config.MaxPositionEmbeddings)
            throw new ArgumentException($"sequence length {seq} exceeds max_position_embeddings {Config.MaxPositionEmbeddings}");
        CheckIds(ids, "input id", Config.VocabSize, "vocab_size");
        if (mask is not null && (mask.dim() != 2 || mask.shape[0] != ids.shape[0] || mask.shape[1] != seq))
            throw new ArgumentException($"attention mask {Shape(mask)} must have the shape of the input ids [{ids.shape[0]}, {seq}]");
        if (types is not null)
        {
            if (types.dim() != 2 || types.shape[0] != ids.shape[0] || types.shape[1] != seq)
                throw new ArgumentException($"token type ids {Shape(types)} must have the shape of the input ids [{ids.shape[0]}, {seq}]");
            CheckIds(types, "token type id", Config.TypeVocabSize, "type_vocab_size");
        }
        if (headMask is not null && (headMask.dim() != 2 || headMask.shape[0] != Config.NumHiddenLayers || headMask.shape[1] != Config.NumAttentionHeads))
            throw new ArgumentException($"head mask {Shape(headMask)} must be [num_hidden_layers {Config.NumHiddenLayers}, num_attention_heads {Config.NumAttentionHeads}]");
    }

    /// <summary>
    /// Ids must be int64 or int32, and within [0, limit). Ids on the CPU are scanned where they lie (no libtorch call,
    /// nothing to synchronise); ids on another device are not read back, as that would stall the forward on the device:
    /// the embedding lookup rejects them there, as in HF.
    /// </summary>
    private static void CheckIds(Tensor t, string what, long limit, string limitName)
    {
        if (t.dtype != ScalarType.Int64 && t.dtype != ScalarType.Int32)
            throw new ArgumentException($"{what}s must be integers; got {t.dtype}");
        if (t.device_type != DeviceType.CPU) return;
        var contiguous = t.is_contiguous() ? t : t.contiguous();
        long min = long.MaxValue, max = long.MinValue;
        if (contiguous.dtype == ScalarType.Int64)
            foreach (long id in contiguous.data<long>()) { min = Math.Min(min, id); max = Math.Max(max, id); }
        else
            foreach (int id in contiguous.data<int>()) { min = Math.Min(min, id); max = Math.Max(max, id); }
        if (!ReferenceEquals(contiguous, t)) contiguous.Dispose();
        if (min < 0) throw new ArgumentException($"{what} {min} is negative");
        if (max >= limit) throw new ArgumentException($"{what} {max} is outside the vocabulary: {limitName} is {limit}");
    }

    internal static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}

/// <summary>Word + position + token-type embeddings, then LayerNorm and dropout (Devlin et al. 2019, fig. 2).</summary>
internal sealed class BertEmbeddings : nn.Module
{
    private readonly Embedding word_embeddings;
    private readonly Embedding position_embeddings;
    private readonly Embedding token_type_embeddings;
    private readonly LayerNorm LayerNorm;
    private readonly SeededDropout dropout;                // nn.Dropout outside DropoutNoise.Use; per-batch noise inside it

    public BertEmbeddings(BertConfig c) : base(nameof(BertEmbeddings))
    {
        word_embeddings = nn.Embedding(c.VocabSize, c.HiddenSize, padding_idx: c.PadTokenId);
        position_embeddings = nn.Embedding(c.MaxPositionEmbeddings, c.HiddenSize);
        token_type_embeddings = nn.Embedding(c.TypeVocabSize, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
        dropout = new SeededDropout(c.HiddenDropoutProb);
        RegisterComponents();
    }

    public Parameter WordEmbeddingWeight => word_embeddings.weight!;

    /// <summary>ids: [batch, seq]; types: [batch, seq] or null -> [batch, seq, hidden]</summary>
    public Tensor Forward(Tensor ids, Tensor? types)
    {
        using var scope = NewDisposeScope();
        long seq = ids.shape[1];
        var positions = arange(seq, dtype: ScalarType.Int64, device: ids.device).unsqueeze(0);   // [1, seq]
        var x = word_embeddings.forward(ids) + position_embeddings.forward(positions);           // [batch, seq, hidden]
        x = types is null
            ? x + token_type_embeddings.weight![0]                                               // every token in segment 0
            : x + token_type_embeddings.forward(types);
        return dropout.forward(LayerNorm.forward(x)).MoveToOuterDisposeScope();
    }
}

/// <summary>The stack of encoder layers (HF: encoder.layer.N): post-LN <see cref="EncoderLayer"/>s, the translator's layer.</summary>
internal sealed class BertEncoder : nn.Module
{
    private readonly ModuleList<EncoderLayer> layer;

    public BertEncoder(BertConfig c) : base(nameof(BertEncoder))
    {
        layer = new ModuleList<EncoderLayer>(Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new EncoderLayer(LayerConfig(c))).ToArray());
        RegisterComponents();
    }

    public ModuleList<EncoderLayer> Layers => layer;

    /// <summary>
    /// BERT's layer (Devlin et al. 2019, post-LN as Vaswani et al. §3.1): h = LayerNorm(x + Dropout(MultiHead(x, x, x)));
    /// y = LayerNorm(h + Dropout(W₂ act(W₁ h + b₁) + b₂)), no dropout inside the feed-forward.
    /// </summary>
    internal static EncoderLayerConfig LayerConfig(BertConfig c) =>
        new(c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize, NormPosition.Post, c.HiddenAct,
            Dropout: c.HiddenDropoutProb, AttentionDropout: c.AttentionProbsDropoutProb, ActivationDropout: 0, LayerNormEps: c.LayerNormEps);
}

/// <summary>pooled = tanh(W h_[CLS] + b): the sentence-level output BERT's next-sentence head was trained on.</summary>
internal sealed class BertPooler : nn.Module
{
    private readonly Linear dense;

    public BertPooler(BertConfig c) : base(nameof(BertPooler))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize);
        RegisterComponents();
    }

    /// <summary>x: [batch, seq, hidden] -> [batch, hidden]</summary>
    public Tensor Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return dense.forward(x[.., 0]).tanh().MoveToOuterDisposeScope();
    }
}

/// <summary>HF's BERT initialisation: weights ~ N(0, initializer_range), biases 0, LayerNorm (1, 0), padding row 0.</summary>
internal static class BertInit
{
    public static void Apply(nn.Module model, double std)
    {
        using var _ = no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            if (name.EndsWith(".bias")) p.zero_();
            else if (name.Contains("LayerNorm") || name.Contains("_norm")) p.fill_(1.0);
            else p.normal_(0, std);
        }
    }
}
