using TorchSharp;
using TorchSharp.Modules;
using Transformers.Modules;
using Transformers.Attention;
using Transformers.Bert;
using static TorchSharp.torch;

namespace Transformers.Translation;

/// <summary>Every attention a translator ran, per layer: probabilities [batch, heads, tgt, src], never averaged.</summary>
public sealed record TranslationAttention(IReadOnlyList<Tensor> EncoderSelf, IReadOnlyList<Tensor> DecoderSelf, IReadOnlyList<Tensor> Cross);

/// <summary>Heads to switch off, per attention kind: [layers, heads] each, 1 keeps a head and 0 silences it (null: all on).</summary>
public sealed record TranslatorHeadMask(Tensor? EncoderSelf = null, Tensor? DecoderSelf = null, Tensor? Cross = null);

/// <summary>Teacher-forced logits [batch, tgt, vocab] and, when captured, every attention.</summary>
public sealed record TranslatorOutput(Tensor Logits, TranslationAttention? Attention);

/// <summary>
/// The encoder-decoder Transformer of Vaswani et al. 2017 ("Attention Is All You Need"), written with our own
/// <see cref="MultiHeadAttention"/> so every head of encoder self-attention, masked decoder self-attention and
/// cross-attention can be inspected. Sinusoidal positions (§3.5), embeddings scaled by √dModel (§3.4), optional
/// three-way tying of source, target and output embeddings, pre-LN or post-LN blocks. Decoding is incremental: the
/// state keeps each decoder layer's keys and values and the cross-attention keys and values of the source.
/// </summary>
public sealed class TransformerTranslator : Seq2SeqModel<TransformerConfig>
{
    private readonly Embedding embedding;                 // target (and, tied, source and output) embedding
    private readonly Embedding? source_embedding;         // untied only
    private readonly Linear? output_projection;           // untied only
    private readonly ModuleList<EncoderLayer> encoder;
    private readonly ModuleList<DecoderLayer> decoder;
    private readonly LayerNorm? encoder_norm;             // pre-LN only
    private readonly LayerNorm? decoder_norm;             // pre-LN only
    private readonly SeededDropout dropout;
    private readonly Tensor positions;                    // [maxLength, dModel] sinusoids (a buffer)
    private readonly double embedScale;

    public override bool HasAttention => true;

    protected override Embedding? OutputEmbedding => output_projection is null ? embedding : null;

    public TransformerTranslator(TransformerConfig config) : base(nameof(TransformerTranslator), config.Validate())
    {
        embedding = nn.Embedding(config.VocabSize, config.DModel, padding_idx: config.PadId);
        if (!config.TieEmbeddings)
        {
            source_embedding = nn.Embedding(config.VocabSize, config.DModel, padding_idx: config.PadId);
            output_projection = nn.Linear(config.DModel, config.VocabSize, hasBias: false);
        }
        encoder = new ModuleList<EncoderLayer>(Enumerable.Range(0, config.EncoderLayers).Select(_ => new EncoderLayer(LayerConfig(config))).ToArray());
        decoder = new ModuleList<DecoderLayer>(Enumerable.Range(0, config.DecoderLayers).Select(_ => new DecoderLayer(config)).ToArray());
        if (config.Norm == NormPosition.Pre)
        {
            encoder_norm = nn.LayerNorm(config.DModel);
            decoder_norm = nn.LayerNorm(config.DModel);
        }
        dropout = new SeededDropout(config.Dropout);
        positions = Sinusoids(config.MaxLength, config.DModel);
        embedScale = Math.Sqrt(config.DModel);
        RegisterComponents();
        Initialize();
    }

    /// <summary>The sizes of an encoder (and decoder) layer: ReLU feed-forward with dropout inside, as Vaswani et al. and fairseq.</summary>
    internal static EncoderLayerConfig LayerConfig(TransformerConfig c) =>
        new(c.DModel, c.NumHeads, c.DFf, c.Norm, Activation.Relu, Dropout: c.Dropout, AttentionDropout: c.AttentionDropout, ActivationDropout: c.Dropout);

    /// <summary>PE(pos, 2i) = sin(pos / 10000^(2i/dModel)), PE(pos, 2i+1) = cos(...) (Vaswani et al. §3.5). -> [maxLength, dModel]</summary>
    public static Tensor Sinusoids(int maxLength, int dModel)
    {
        using var scope = NewDisposeScope();
        var pos = arange(maxLength, dtype: ScalarType.Float32).unsqueeze(1);                       // [maxLength, 1]
        var freq = exp(arange(0, dModel, 2, dtype: ScalarType.Float32) * (-Math.Log(10000.0) / dModel)); // [dModel / 2]
        var angles = pos * freq;                                                                   // [maxLength, dModel / 2]
        var pe = stack([sin(angles), cos(angles)], dim: 2).view(maxLength, dModel);                // interleaved sin, cos
        return pe.MoveToOuterDisposeScope();
    }

    /// <summary>Xavier-uniform linear weights, N(0, dModel^-1/2) embeddings (as fairseq), zero biases and padding rows.</summary>
    private void Initialize()
    {
        using var _ = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            if (name.Contains("norm")) continue;                                                   // LayerNorm: (1, 0)
            if (name.EndsWith(".bias")) p.zero_();
            else if (name.Contains("embedding")) { p.normal_(0, Math.Pow(Config.DModel, -0.5)); p[Config.PadId].zero_(); }
            else nn.init.xavier_uniform_(p);
        }
    }

    public override Tensor Forward(Tensor src, Tensor srcMask, Tensor tgtIn) => Run(src, srcMask, tgtIn, capture: false, null).Logits;

    /// <summary>Teacher-forced logits with some heads switched off (head-importance studies, Michel et al. 2019).</summary>
    public Tensor Forward(Tensor src, Tensor srcMask, Tensor tgtIn, TranslatorHeadMask headMask) => Run(src, srcMask, tgtIn, capture: false, headMask).Logits;

    /// <summary>Teacher-forced logits with every attention's per-head probabilities (for the head viewer).</summary>
    public override TranslatorOutput ForwardWithAttention(Tensor src, Tensor srcMask, Tensor tgtIn) => Run(src, srcMask, tgtIn, capture: true, null);

    private TranslatorOutput Run(Tensor src, Tensor srcMask, Tensor tgtIn, bool capture, TranslatorHeadMask? headMask)
    {
        // src: [batch, src]; srcMask: [batch, src] bool; tgtIn: [batch, tgt]. Ids are checked where batches are built
        // (TranslationBatch.ToTensors): a forward reads nothing back from the device.
        CheckIdShape(src, "source");
        CheckIdShape(tgtIn, "target");
        if (tgtIn.shape[0] != src.shape[0]) throw new ArgumentException($"target batch {tgtIn.shape[0]} differs from source batch {src.shape[0]}");
        using var scope = NewDisposeScope();
        var encSelf = capture ? new List<Tensor>() : null;
        var decSelf = capture ? new List<Tensor>() : null;
        var cross = capture ? new List<Tensor>() : null;
        CheckHeadMask(headMask?.EncoderSelf, Config.EncoderLayers, "encoder self-attention");
        CheckHeadMask(headMask?.DecoderSelf, Config.DecoderLayers, "decoder self-attention");
        CheckHeadMask(headMask?.Cross, Config.DecoderLayers, "cross-attention");
        var memory = RunEncoder(src, srcMask, encSelf, headMask?.EncoderSelf);                     // [batch, src, dModel]
        long tgt = tgtIn.shape[1];
        var crossMask = AttentionMask.Padding(srcMask);                                            // [batch, 1, 1, src]
        var selfMask = AttentionMask.Causal(tgt, tgt, tgtIn.device);                               // [1, 1, tgt, tgt]
        var y = dropout.forward(Embed(embedding, tgtIn, 0));                                       // [batch, tgt, dModel]
        var context = new DecoderContext(memory, selfMask, crossMask, capture);
        for (int i = 0; i < decoder.Count; i++)
        {
            var r = decoder[i].Forward(y, context, headMask?.DecoderSelf?[i], headMask?.Cross?[i]);
            y = r.Output;
            decSelf?.Add(r.SelfProbabilities!);
            cross?.Add(r.CrossProbabilities!);
        }
        var logits = Project(decoder_norm?.forward(y) ?? y);                                      // [batch, tgt, vocab]
        var attention = capture ? new TranslationAttention(encSelf!, decSelf!, cross!) : null;
        logits.MoveToOuterDisposeScope();
        if (attention is not null)
            foreach (var t in attention.EncoderSelf.Concat(attention.DecoderSelf).Concat(attention.Cross)) t.MoveToOuterDisposeScope();
        return new TranslatorOutput(logits, attention);
    }

    public override EncoderOutput Encode(Tensor src, Tensor srcMask)
    {
        CheckIdShape(src, "source");
        using var scope = NewDisposeScope();
        var memory = RunEncoder(src, srcMask, null, null);
        return new EncoderOutput(memory.MoveToOuterDisposeScope(), srcMask);
    }

    private void CheckHeadMask(Tensor? mask, int layers, string what)
    {
        if (mask is not null && (mask.dim() != 2 || mask.shape[0] != layers || mask.shape[1] != Config.NumHeads))
            throw new ArgumentException($"{what} head mask must be [layers {layers}, heads {Config.NumHeads}]; got [{string.Join(", ", mask.shape)}]");
    }

    private Tensor RunEncoder(Tensor src, Tensor srcMask, List<Tensor>? probabilities, Tensor? headMask)
    {
        if (srcMask.dtype != ScalarType.Bool || !srcMask.shape.SequenceEqual(src.shape))
            throw new ArgumentException($"source mask must be bool [{string.Join(", ", src.shape)}]; got {srcMask.dtype} [{string.Join(", ", srcMask.shape)}]");
        var mask = AttentionMask.Padding(srcMask);                                                 // [batch, 1, 1, src]
        var x = dropout.forward(Embed(source_embedding ?? embedding, src, 0));                    // [batch, src, dModel]
        for (int i = 0; i < encoder.Count; i++)
        {
            var (y, probs) = encoder[i].Forward(x, mask, probabilities is not null, headMask?[i]);
            x = y;
            if (probs is not null) probabilities!.Add(probs);
        }
        return encoder_norm?.forward(x) ?? x;
    }

    /// <summary>ids: [batch, len] -> √dModel · E[ids] + PE[offset .. offset + len]: [batch, len, dModel]</summary>
    private Tensor Embed(Embedding table, Tensor ids, int offset) =>
        table.forward(ids).mul(embedScale) + positions.narrow(0, offset, ids.shape[1]).unsqueeze(0);

    /// <summary>h: [..., dModel] -> logits [..., vocab]</summary>
    private Tensor Project(Tensor h) => output_projection?.forward(h) ?? matmul(h, embedding.weight!.t());

    public override DecoderState StartDecoding(EncoderOutput encoded)
    {
        using var scope = NewDisposeScope();
        var crossK = new Tensor[decoder.Count];
        var crossV = new Tensor[decoder.Count];
        var selfQkv = new (Tensor, Tensor?)[decoder.Count];
        for (int i = 0; i < decoder.Count; i++)
        {
            (crossK[i], crossV[i]) = decoder[i].ProjectMemory(encoded.Memory);                   // [batch, heads, src, headDim]
            selfQkv[i] = decoder[i].FusedSelfQkv();                                              // [3 dModel, dModel], once per sentence
        }
        var state = new TransformerDecoderState(crossK, crossV, AttentionMask.Padding(encoded.SourceMask), selfQkv);
        return state;
    }

    public override Tensor DecodeStep(Tensor prevTokens, DecoderState state)
    {
        // prevTokens: [batch] -> log-probabilities [batch, vocab]
        var s = (TransformerDecoderState)state;
        if (s.Step >= MaxLength) throw new ArgumentException($"decoding step {s.Step + 1} exceeds the model's maximum length {MaxLength}");
        using var scope = NewDisposeScope();
        var y = dropout.forward(Embed(embedding, prevTokens.unsqueeze(1), s.Step));               // [batch, 1, dModel]
        for (int i = 0; i < decoder.Count; i++)
            y = decoder[i].Step(y, s, i);
        var logits = Project(decoder_norm?.forward(y) ?? y).squeeze(1);                           // [batch, vocab]
        s.Advance();
        return logits.log_softmax(-1).MoveToOuterDisposeScope();
    }
}

/// <summary>What every decoder layer reads besides its input: the encoder output [batch, src, dModel], the causal
/// self-attention mask [1, 1, tgt, tgt], the cross-attention padding mask [batch, 1, 1, src], and whether to return probabilities.</summary>
internal sealed record DecoderContext(Tensor Memory, Tensor SelfMask, Tensor CrossMask, bool Capture);

/// <summary>The result of one decoder layer over a whole target.</summary>
internal sealed record DecoderLayerOutput(Tensor Output, Tensor? SelfProbabilities, Tensor? CrossProbabilities);

/// <summary>
/// Decoder layer: masked self-attention, cross-attention over the encoder output, feed-forward, each inside a
/// <see cref="SublayerConnection"/> (named after its LayerNorm, as before the connection was a module: checkpoints keep their names).
/// </summary>
internal sealed class DecoderLayer : nn.Module
{
    private readonly MultiHeadAttention self_attn;
    private readonly SublayerConnection self_attn_norm;
    private readonly MultiHeadAttention cross_attn;
    private readonly SublayerConnection cross_attn_norm;
    private readonly FeedForward ffn;
    private readonly SublayerConnection ffn_norm;

    public DecoderLayer(TransformerConfig config) : base(nameof(DecoderLayer))
    {
        var c = TransformerTranslator.LayerConfig(config);
        self_attn = new MultiHeadAttention(c.DModel, c.NumHeads, c.AttentionDropout);
        self_attn_norm = new SublayerConnection(c.DModel, c.Norm, c.Dropout, c.LayerNormEps);
        cross_attn = new MultiHeadAttention(c.DModel, c.NumHeads, c.AttentionDropout);
        cross_attn_norm = new SublayerConnection(c.DModel, c.Norm, c.Dropout, c.LayerNormEps);
        ffn = new FeedForward(c.DModel, c.DFf, c.Activation, c.ActivationDropout);
        ffn_norm = new SublayerConnection(c.DModel, c.Norm, c.Dropout, c.LayerNormEps);
        RegisterComponents();
    }

    /// <summary>y: [batch, tgt, dModel] -> [batch, tgt, dModel], with both attentions' probabilities when <see cref="DecoderContext.Capture"/>; head masks: [heads].</summary>
    public DecoderLayerOutput Forward(Tensor y, DecoderContext context, Tensor? selfHeadMask = null, Tensor? crossHeadMask = null)
    {
        var (h, selfProbs) = self_attn_norm.ForwardAttention(y, t => self_attn.SelfAttention(t, context.SelfMask, context.Capture, selfHeadMask));
        var (c, crossProbs) = cross_attn_norm.ForwardAttention(h, t => cross_attn.CrossAttention(t, context.Memory, context.CrossMask, context.Capture, crossHeadMask));
        return new DecoderLayerOutput(ffn_norm.Forward(c, ffn.Forward), selfProbs, crossProbs);
    }

    /// <summary>memory: [batch, src, dModel] -> cross-attention keys and values [batch, heads, src, headDim], computed once per sentence.</summary>
    public (Tensor K, Tensor V) ProjectMemory(Tensor memory) => (cross_attn.ProjectKeys(memory), cross_attn.ProjectValues(memory));

    /// <summary>The self-attention's stacked Q/K/V projection (no gradient: decoding only), for <see cref="Step"/>.</summary>
    public (Tensor Weight, Tensor? Bias) FusedSelfQkv()
    {
        var (w, b) = self_attn.FusedQkv();
        return (w.detach(), b?.detach());
    }

    /// <summary>One target position. y: [batch, 1, dModel] -> [batch, 1, dModel]; appends this position's keys and values to the state.</summary>
    public Tensor Step(Tensor y, TransformerDecoderState state, int layer)
    {
        var h = self_attn_norm.ForwardAttention(y, t =>
        {
            var (q, kNew, vNew) = self_attn.ProjectQkv(t, state.SelfQkv[layer]);                 // one product for the new position
            var (k, v) = state.Append(layer, kNew, vNew);                                        // [batch, heads, step + 1, headDim]
            return self_attn.Attend(q, k, v, null, false);                                       // every past position is visible
        }).Output;
        h = cross_attn_norm.ForwardAttention(h, t =>
            cross_attn.Attend(cross_attn.ProjectQueries(t), state.CrossK[layer], state.CrossV[layer], state.CrossMask, false)).Output;
        return ffn_norm.Forward(h, ffn.Forward);
    }
}

/// <summary>
/// The Transformer's decoding state: per decoder layer, the self-attention keys and values of every consumed target
/// position (in buffers that double when full, so appending is amortised O(1)), and the cross-attention keys and values
/// of the source. Its tensors belong to no dispose scope; <see cref="Dispose"/> frees them.
/// </summary>
public sealed class TransformerDecoderState : DecoderState
{
    private Tensor[] selfK, selfV;                 // [batch, heads, capacity, headDim]
    internal Tensor[] CrossK { get; private set; } // [batch, heads, src, headDim]
    internal Tensor[] CrossV { get; private set; }
    internal Tensor CrossMask { get; private set; } // [batch, 1, 1, src]
    internal (Tensor Weight, Tensor? Bias)[] SelfQkv { get; }   // per layer: stacked W^Q, W^K, W^V [3 dModel, dModel] and biases

    internal TransformerDecoderState(Tensor[] crossK, Tensor[] crossV, Tensor crossMask, (Tensor Weight, Tensor? Bias)[] selfQkv)
    {
        CrossK = crossK.Select(t => t.DetachFromDisposeScope()).ToArray();
        CrossV = crossV.Select(t => t.DetachFromDisposeScope()).ToArray();
        CrossMask = crossMask.DetachFromDisposeScope();
        SelfQkv = selfQkv.Select(p => (p.Weight.DetachFromDisposeScope(), p.Bias?.DetachFromDisposeScope())).ToArray();
        selfK = new Tensor[crossK.Length];
        selfV = new Tensor[crossK.Length];
    }

    /// <summary>Stores one position's k, v ([batch, heads, 1, headDim]) for a layer; returns views of all positions so far.</summary>
    internal (Tensor K, Tensor V) Append(int layer, Tensor k, Tensor v)
    {
        long capacity = selfK[layer] is null ? 0 : selfK[layer].shape[2];
        if (Step >= capacity)
        {
            long grown = Math.Max(16, capacity * 2);
            selfK[layer] = Grow(selfK[layer], k, grown);
            selfV[layer] = Grow(selfV[layer], v, grown);
        }
        selfK[layer].narrow(2, Step, 1).copy_(k);
        selfV[layer].narrow(2, Step, 1).copy_(v);
        return (selfK[layer].narrow(2, 0, Step + 1), selfV[layer].narrow(2, 0, Step + 1));
    }

    private Tensor Grow(Tensor? old, Tensor like, long capacity)
    {
        var shape = like.shape.ToArray();
        shape[2] = capacity;
        var buffer = zeros(shape, like.dtype, like.device).DetachFromDisposeScope();
        if (old is not null)
        {
            buffer.narrow(2, 0, Step).copy_(old.narrow(2, 0, Step));
            old.Dispose();
        }
        return buffer;
    }

    internal void Advance() => Step++;

    public override void Select(Tensor batchIndices)
    {
        static Tensor Pick(Tensor t, Tensor idx)
        {
            var picked = t.index_select(0, idx).DetachFromDisposeScope();
            t.Dispose();
            return picked;
        }
        for (int i = 0; i < selfK.Length; i++)
        {
            if (selfK[i] is not null) { selfK[i] = Pick(selfK[i], batchIndices); selfV[i] = Pick(selfV[i], batchIndices); }
            CrossK[i] = Pick(CrossK[i], batchIndices);
            CrossV[i] = Pick(CrossV[i], batchIndices);
        }
        CrossMask = Pick(CrossMask, batchIndices);
    }

    public override void Dispose()
    {
        foreach (var t in selfK.Concat(selfV).Concat(CrossK).Concat(CrossV)) t?.Dispose();
        foreach (var (w, b) in SelfQkv)
        {
            w.Dispose();
            b?.Dispose();
        }
        CrossMask.Dispose();
    }
}
