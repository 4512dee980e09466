using TorchSharp;
using TorchSharp.Modules;
using Transformers.Modules;
using Transformers.Recurrent;
using static TorchSharp.torch;

namespace Transformers.Translation;

/// <summary>
/// Recurrent encoder-decoder translator: the seq2seq of Sutskever et al. 2014 / Cho et al. 2014 with optional attention
/// (Bahdanau et al. 2015, Luong et al. 2015), on the same seam as <see cref="TransformerTranslator"/>.
/// <list type="bullet">
/// <item>Encoder: embedding, then a bidirectional <see cref="RecurrentStack"/> (EncoderDirectionSize per direction) over
/// the source, packed so that each sentence's backward direction starts at its own last token; its outputs
/// h̄_s = [h→_s; h←_s] ([batch, src, encoderOutput], zero on padding) are <see cref="EncoderOutput.Memory"/>.</item>
/// <item>Bridge: every decoder layer l starts from s_0^l = tanh(W_b^l [h→_last; h←_1] + b^l), the top encoder layer's two
/// final states (Bahdanau et al. App. A.2.2 use tanh(W_s h←_1)); an LSTM decoder's c_0^l = W_c^l [h→_last; h←_1] + b^l. Without a bidirectional encoder: [h→_last] alone.
/// Both are read from the memory, so <see cref="StartDecoding"/> needs nothing but the <see cref="EncoderOutput"/>. The
/// bridge also maps the encoder's width to the decoder's, so the two stacks may differ in width and depth.</item>
/// <item>Decoder: embedding (plus h̃_{t-1} with input feeding), a unidirectional stack giving s_t, then Luong et al.'s
/// global attention: a_t = softmax(score(s_t, h̄_s)) over real source tokens, c_t = Σ_s a_t(s) h̄_s, and the attentional
/// vector h̃_t = tanh(W_c [c_t; s_t]) (Luong eq. 5); without attention h̃_t = tanh(W_c s_t). The output is W_o h̃_t,
/// tied to the embedding by default. Every score function (Bahdanau's additive one too) is applied to the current
/// s_t inside this one decoder layout, as Luong et al. §3.1 do; Bahdanau's own decoder scored s_{t-1} and fed c_t
/// into the recurrence, which input feeding approximates.</item>
/// </list>
/// Attention probabilities are returned as a single "layer" and "head": <see cref="TranslationAttention.Cross"/> holds one
/// tensor [batch, 1, tgt, src]; EncoderSelf and DecoderSelf are empty (a recurrent model has no self-attention).
/// </summary>
public sealed class RecurrentTranslator : Seq2SeqModel<RecurrentTranslatorConfig>
{
    private readonly Embedding embedding;           // target (and, tied, source and output) embedding [vocab, embedding]
    private readonly Embedding? source_embedding;   // untied only
    private readonly Linear? output_projection;     // untied only: h̃ -> logits
    private readonly RecurrentStack encoder;        // bidirectional or left-to-right, EncoderDirectionSize per direction
    private readonly Linear bridge;                 // [h→_last; h←_1] (encoderOutput) -> s_0 of every decoder layer
    private readonly Linear? bridge_cell;           // LSTM only: -> c_0 of every decoder layer
    private readonly RecurrentStack decoder;        // unidirectional, DecoderLayerCount layers of hidden
    private readonly Alignment? attention;          // null without attention
    private readonly Linear attentional;            // W_c: [c_t; s_t] (or s_t) -> h̃_t
    private readonly SeededDropout dropout;

    public override bool HasAttention => Config.Attention != RecurrentAttention.None;

    protected override Embedding? OutputEmbedding => output_projection is null ? embedding : null;

    public RecurrentTranslator(RecurrentTranslatorConfig config) : base(nameof(RecurrentTranslator), config.Validate())
    {
        int e = config.EmbeddingSize, h = config.HiddenSize, decoderLayers = config.DecoderLayerCount;
        int m = config.EncoderOutputSize;                                                     // width of h̄_s (both directions)
        embedding = nn.Embedding(config.VocabSize, e, padding_idx: config.PadId);
        if (!config.TieEmbeddings)
        {
            source_embedding = nn.Embedding(config.VocabSize, e, padding_idx: config.PadId);
            output_projection = nn.Linear(e, config.VocabSize, hasBias: false);
        }
        encoder = new RecurrentStack(new RecurrentConfig(config.Cell, e, config.EncoderDirectionSize, config.NumLayers, config.BidirectionalEncoder,
                                                         BetweenLayers(config.NumLayers)));
        bridge = nn.Linear(m, decoderLayers * h);
        if (config.Cell == RecurrentCellKind.Lstm) bridge_cell = nn.Linear(m, decoderLayers * h);
        decoder = new RecurrentStack(new RecurrentConfig(config.Cell, config.InputFeeding ? 2 * e : e, h, decoderLayers, Bidirectional: false,
                                                         BetweenLayers(decoderLayers)));
        if (config.Attention != RecurrentAttention.None) attention = new Alignment(config.Attention, h, m, config.AttentionSize);
        attentional = nn.Linear(config.Attention == RecurrentAttention.None ? h : m + h, e);
        dropout = new SeededDropout(config.Dropout);
        RegisterComponents();
        Initialize();
    }

    /// <summary>Dropout between the layers of a stack: none for a single layer (which has no "between").</summary>
    private double BetweenLayers(int layers) => layers > 1 ? Config.Dropout : 0.0;

    /// <summary>
    /// <see cref="RecurrentInitialization.Uniform"/>: every parameter U(-0.1, 0.1) (Luong et al. 2015 §4.1);
    /// <see cref="RecurrentInitialization.PyTorch"/>: embeddings U(-0.1, 0.1), every other module keeps the initialisation
    /// it was built with (nn.GRU/nn.LSTM/nn.RNN U(-1/√hidden, 1/√hidden), nn.Linear U(-1/√fan_in, 1/√fan_in)). Padding rows zero.
    /// </summary>
    private void Initialize()
    {
        using var _ = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            bool isEmbedding = name.Contains("embedding");
            if (isEmbedding || Config.Initialization == RecurrentInitialization.Uniform) p.uniform_(-0.1, 0.1);
            if (isEmbedding) p[Config.PadId].zero_();
        }
    }

    public override Tensor Forward(Tensor src, Tensor srcMask, Tensor tgtIn) => Run(src, srcMask, tgtIn, capture: false).Logits;

    /// <summary>Teacher-forced logits and the decoder's attention [batch, 1, tgt, src] in <see cref="TranslationAttention.Cross"/> (none without attention).</summary>
    public override TranslatorOutput ForwardWithAttention(Tensor src, Tensor srcMask, Tensor tgtIn) => Run(src, srcMask, tgtIn, capture: true);

    private TranslatorOutput Run(Tensor src, Tensor srcMask, Tensor tgtIn, bool capture)
    {
        // src: [batch, src]; srcMask: [batch, src] bool; tgtIn: [batch, tgt]
        using var scope = NewDisposeScope();
        var lengths = SourceLengths(src, srcMask, tgtIn);                                  // [batch] on the CPU: the forward's one read from the device
        var start = Start(new EncoderOutput(EncodeSource(src, lengths), srcMask));
        double? ratio = training && TeacherForcingRatio < 1 ? TeacherForcingRatio : null;   // null: every input is the reference
        var (logits, probabilities) = ratio is null && !Config.InputFeeding
            ? DecodeParallel(tgtIn, start)
            : DecodeSequential(tgtIn, start, ratio);
        var cross = capture && probabilities is not null ? new[] { probabilities.unsqueeze(1).MoveToOuterDisposeScope() } : []; // [batch, 1, tgt, src]
        return new TranslatorOutput(logits.MoveToOuterDisposeScope(), capture ? new TranslationAttention([], [], cross) : null);
    }

    /// <summary>
    /// The fused path, taken when every decoder input is known in advance (teacher forcing, no input feeding): the native
    /// stack runs over the whole target in one call, then attention scores every (target, source) pair in one batched
    /// product. Padding at the end of a target changes only positions whose loss is ignored.
    /// </summary>
    private (Tensor Logits, Tensor? Probabilities) DecodeParallel(Tensor tgtIn, DecoderStart start)
    {
        var x = dropout.forward(embedding.forward(tgtIn));                                 // [batch, tgt, embedding]
        var s = decoder.Run(x, lengths: null, start.Initial).Output;                       // [batch, tgt, hidden]
        var (hTilde, probabilities) = Attend(s, start.Source);                             // [batch, tgt, embedding], [batch, tgt, src]
        return (Project(dropout.forward(hTilde)), probabilities);                          // [batch, tgt, vocab]
    }

    /// <summary>
    /// The step path: input feeding needs h̃_{t-1}, and scheduled sampling the prediction at t-1, before step t can run.
    /// <paramref name="ratio"/> (null for pure teacher forcing) is the chance of keeping the reference token.
    /// </summary>
    private (Tensor Logits, Tensor? Probabilities) DecodeSequential(Tensor tgtIn, DecoderStart start, double? ratio)
    {
        long batch = tgtIn.shape[0], tgt = tgtIn.shape[1];
        if (tgt == 0)
            return (zeros(batch, 0, VocabSize, device: tgtIn.device), start.Source is null ? null : zeros(batch, 0, start.Source.Mask.shape[1], device: tgtIn.device));
        var state = start.Initial;
        var feed = Config.InputFeeding ? zeros(batch, Config.EmbeddingSize, device: tgtIn.device) : null; // h̃_0 = 0: [batch, embedding]
        var logits = new List<Tensor>();
        var probabilities = new List<Tensor>();
        for (long t = 0; t < tgt; t++)
        {
            var tokens = tgtIn.select(1, t);                                                // y_{t-1}: [batch]
            if (ratio is { } r && t > 0) tokens = Sample(tokens, logits[^1], r);
            var step = StepOnce(tokens, state, feed, start.Source);
            (state, feed) = (step.State, Config.InputFeeding ? step.HTilde : null);
            logits.Add(step.Logits);
            if (step.Probabilities is not null) probabilities.Add(step.Probabilities);
        }
        return (stack(logits, 1), probabilities.Count == 0 ? null : stack(probabilities, 1)); // [batch, tgt, vocab], [batch, tgt, src]
    }

    /// <summary>
    /// Scheduled sampling (Bengio et al. 2015): keeps the reference y_{t-1} with probability <paramref name="ratio"/>,
    /// else draws a token from the model's distribution at t-1 (no gradient flows through the draw). Both draws use
    /// libtorch's global generator, whose state the trainer saves in checkpoints, so a resumed run draws the same tokens.
    /// </summary>
    private static Tensor Sample(Tensor reference, Tensor previousLogits, double ratio)
    {
        // reference: [batch]; previousLogits: [batch, vocab]
        var keep = rand(reference.shape[0], device: reference.device).lt(ratio);              // [batch] bool
        var drawn = previousLogits.detach().softmax(-1).multinomial(1).squeeze(1);             // [batch]
        return where(keep, reference, drawn);
    }

    /// <summary>The decoder runs step by step when it must: it can read its own predictions.</summary>
    public override bool SupportsScheduledSampling => true;

    /// <summary>
    /// Every gate's activations over time, for inspection: the encoder (both directions) and, teacher-forced on
    /// <paramref name="tgtIn"/>, the decoder (null with input feeding, whose decoder inputs depend on the attention).
    /// Runs the gate-level path on the same weights, in eval mode semantics (no dropout). Tensors belong to the caller's
    /// dispose scope; each gate is [batch, len, hidden].
    /// </summary>
    public (Recurrent.RecurrentTrace Encoder, Recurrent.RecurrentTrace? Decoder) TraceGates(Tensor src, Tensor srcMask, Tensor tgtIn)
    {
        var lengths = SourceLengths(src, srcMask, tgtIn: null);
        using var _ = no_grad();
        var x = (source_embedding ?? embedding).forward(src);                                  // [batch, src, embedding]
        var encoded = encoder.Run(x, lengths, null, Recurrent.RecurrentPath.GateLevelTraced);
        if (Config.InputFeeding) return (encoded.Trace!, null);
        var start = Start(new EncoderOutput(encoded.Output, srcMask));
        var y = embedding.forward(tgtIn);                                                     // [batch, tgt, embedding]
        var decoded = decoder.Run(y, null, start.Initial, Recurrent.RecurrentPath.GateLevelTraced);
        return (encoded.Trace!, decoded.Trace);
    }

    public override EncoderOutput Encode(Tensor src, Tensor srcMask)
    {
        // src: [batch, src]; srcMask: [batch, src] bool, a prefix of each row
        using var scope = NewDisposeScope();
        var memory = EncodeSource(src, SourceLengths(src, srcMask, tgtIn: null));            // [batch, src, encoderOutput]
        return new EncoderOutput(memory.MoveToOuterDisposeScope(), srcMask);
    }

    /// <summary>
    /// The encoder over checked ids. src: [batch, src]; lengths: [batch] int64 on the CPU (from <see cref="SourceLengths"/>)
    /// -> h̄ = [h→; h←]: [batch, src, encoderOutput], zero on padding. The stack packs the batch by these lengths, so each
    /// sentence's backward direction starts at its own last token (EOS), never at padding.
    /// </summary>
    private Tensor EncodeSource(Tensor src, Tensor lengths)
    {
        var x = dropout.forward((source_embedding ?? embedding).forward(src));                // [batch, src, embedding]
        return encoder.Run(x, lengths).Output;                                              // [batch, src, encoderOutput]
    }

    public override DecoderState StartDecoding(EncoderOutput encoded)
    {
        using var scope = NewDisposeScope();
        var start = Start(encoded);
        var feed = Config.InputFeeding ? zeros(encoded.Memory.shape[0], Config.EmbeddingSize, device: encoded.Memory.device) : null;
        return new RecurrentDecoderState(start.Initial, feed, start.Source);
    }

    public override Tensor DecodeStep(Tensor prevTokens, DecoderState state)
    {
        // prevTokens: [batch] -> log-probabilities [batch, vocab]
        var s = state as RecurrentDecoderState ?? throw new ArgumentException($"a {ArchitectureName} model decodes from its own StartDecoding state, not {state.GetType().Name}");
        if (prevTokens.dim() != 1 || prevTokens.shape[0] != s.Recurrent.Hidden.shape[1])
            throw new ArgumentException($"prevTokens must be [{s.Recurrent.Hidden.shape[1]}]; got [{string.Join(", ", prevTokens.shape)}]");
        using var scope = NewDisposeScope();
        var step = StepOnce(prevTokens, s.Recurrent, s.Feed, s.Source);
        s.Advance(step.State, Config.InputFeeding ? step.HTilde : null);
        return step.Logits.log_softmax(-1).MoveToOuterDisposeScope();
    }

    /// <summary>The decoder's initial state (bridge) and what attention reads, from the encoder output.</summary>
    private DecoderStart Start(EncoderOutput encoded)
    {
        var (memory, mask) = (encoded.Memory, encoded.SourceMask);                         // [batch, src, encoderOutput], [batch, src]
        long batch = memory.shape[0], width = Config.EncoderOutputSize, half = Config.EncoderDirectionSize;
        var last = (mask.sum(1) - 1).clamp_min(0).view(batch, 1, 1).expand(batch, 1, width); // [batch, 1, encoderOutput]
        var atLast = memory.gather(1, last).squeeze(1);                                     // outputs at the last real token: [batch, encoderOutput]
        var summary = Config.BidirectionalEncoder
            ? cat([atLast.narrow(1, 0, half), memory.select(1, 0).narrow(1, half, half)], 1) // [h→_last; h← at t = 0, after reading the whole source]
            : atLast;                                                                        // h→_last: [batch, encoderOutput]
        var hidden = LayerMajor(bridge.forward(summary).tanh());                             // s_0: [decoderLayers, batch, hidden]
        var cell = bridge_cell is null ? null : LayerMajor(bridge_cell.forward(summary));    // c_0 (LSTM)
        var source = attention is null ? null : new AttentionSource(memory, attention.Keys(memory), mask);
        return new DecoderStart(new RecurrentState(hidden, cell), source);
    }

    /// <summary>[batch, decoderLayers * hidden] -> [decoderLayers, batch, hidden] (the stack's state layout)</summary>
    private Tensor LayerMajor(Tensor t) => t.view(t.shape[0], Config.DecoderLayerCount, Config.HiddenSize).transpose(0, 1).contiguous();

    /// <summary>One decoder step: tokens y_{t-1} [batch] (+ h̃_{t-1} [batch, embedding] with input feeding) -> logits [batch, vocab] and the new state.</summary>
    private StepResult StepOnce(Tensor tokens, RecurrentState state, Tensor? feed, AttentionSource? source)
    {
        var x = dropout.forward(embedding.forward(tokens));                                 // [batch, embedding]
        if (feed is not null) x = cat([x, feed], 1);                                        // [batch, 2 * embedding] (Luong §3.3)
        var r = decoder.Step(x, state);                                                      // s_t: [batch, hidden]
        var (hTilde, probabilities) = Attend(r.Output.unsqueeze(1), source);                // [batch, 1, embedding], [batch, 1, src]
        var logits = Project(dropout.forward(hTilde.squeeze(1)));                           // [batch, vocab]
        return new StepResult(logits, r.State, hTilde.squeeze(1), probabilities?.squeeze(1));
    }

    /// <summary>s: [batch, tgt, hidden] -> h̃ [batch, tgt, embedding] and attention probabilities [batch, tgt, src] (null without attention).</summary>
    private (Tensor HTilde, Tensor? Probabilities) Attend(Tensor s, AttentionSource? source)
    {
        if (attention is null || source is null) return (attentional.forward(s).tanh(), null); // h̃_t = tanh(W_c s_t)
        var a = attention.Probabilities(s, source.Keys, source.Mask);                      // a_t: [batch, tgt, src]
        var context = matmul(a, source.Memory);                                              // c_t = Σ_s a_t(s) h̄_s: [batch, tgt, encoderOutput]
        return (attentional.forward(cat([context, s], -1)).tanh(), a);                      // h̃_t = tanh(W_c [c_t; s_t])
    }

    /// <summary>h̃: [..., embedding] -> logits [..., vocab]</summary>
    private Tensor Project(Tensor hTilde) => output_projection?.forward(hTilde) ?? matmul(hTilde, embedding.weight!.t());

    /// <summary>
    /// Validates ids (source and, when given, target) and the source mask, and returns the source lengths [batch] (int64,
    /// on the CPU, where packing needs them). Everything it checks comes from the device in one read of a [batch + 5]
    /// vector, the only one of a forward: shapes first (metadata), then ids in the vocabulary, no zero-length sentence,
    /// and a mask that marks a prefix of each row.
    /// </summary>
    private Tensor SourceLengths(Tensor src, Tensor srcMask, Tensor? tgtIn)
    {
        CheckIdShape(src, "source");
        if (tgtIn is not null)
        {
            CheckIdShape(tgtIn, "target");
            if (tgtIn.shape[0] != src.shape[0]) throw new ArgumentException($"target batch {tgtIn.shape[0]} differs from source batch {src.shape[0]}");
        }
        long batch = src.shape[0], length = src.shape[1];
        if (batch == 0) throw new ArgumentException("the source batch is empty");
        if (srcMask.dtype != ScalarType.Bool || !srcMask.shape.SequenceEqual(src.shape))
            throw new ArgumentException($"source mask must be bool [{string.Join(", ", src.shape)}]; got {srcMask.dtype} [{string.Join(", ", srcMask.shape)}]");
        if (length == 0)
            throw new ArgumentException("source sentence 0 is zero-length (no real token in its mask); an empty sentence is encoded as EOS alone");
        using var scope = NewDisposeScope();
        var lengths = srcMask.sum(1, type: ScalarType.Int64);                               // [batch]
        var prefix = (arange(length, device: src.device).unsqueeze(0) < lengths.unsqueeze(1)).eq(srcMask).all(); // a 0-dim bool
        var target = tgtIn is null || tgtIn.numel() == 0 ? src : tgtIn;                     // an empty target has no ids to check
        var facts = cat([lengths, stack([prefix.to(ScalarType.Int64), src.min(), src.max(), target.min(), target.max()])]); // [batch + 5]
        var host = facts.cpu().data<long>().ToArray();                                       // the one read
        CheckIdRange(host[batch + 1], host[batch + 2], "source");
        if (!ReferenceEquals(target, src)) CheckIdRange(host[batch + 3], host[batch + 4], "target");
        int empty = Array.IndexOf(host, 0L, 0, (int)batch);
        if (empty >= 0)
            throw new ArgumentException($"source sentence {empty} is zero-length (no real token in its mask); an empty sentence is encoded as EOS alone");
        if (host[batch] == 0)
            throw new ArgumentException("source mask must mark a prefix of each row (padding at the end): the recurrent encoder reads tokens in order");
        return tensor(host[..(int)batch]).MoveToOuterDisposeScope();                         // [batch] int64, CPU
    }

    private sealed record DecoderStart(RecurrentState Initial, AttentionSource? Source);

    private sealed record StepResult(Tensor Logits, RecurrentState State, Tensor HTilde, Tensor? Probabilities);
}

/// <summary>What attention reads at every step: memory h̄ [batch, src, encoderOutput], keys [batch, src, key] (the query-independent part of the score), mask [batch, src] bool.</summary>
internal sealed record AttentionSource(Tensor Memory, Tensor Keys, Tensor Mask);

/// <summary>
/// The alignment model a(s_t, h̄_s) of a recurrent decoder (Bahdanau et al. 2015 §3.1; Luong et al. 2015 §3.1, eq. 7-8):
/// scores every source position for each decoder state, softmax over the real ones. Queries s_t are the decoder's
/// states (querySize wide), memories h̄_s the encoder's outputs (memorySize wide, e.g. both directions of a wider encoder).
/// <list type="bullet">
/// <item>Bahdanau (additive): score = vᵀ tanh(W_q s_t + W_k h̄_s + b); keys = W_k h̄_s + b.</item>
/// <item>Luong dot: score = s_tᵀ h̄_s; keys = h̄_s.</item>
/// <item>Luong general: score = s_tᵀ W_a h̄_s; keys = W_a h̄_s.</item>
/// </list>
/// </summary>
public sealed class Alignment : nn.Module
{
    private readonly Linear? query;   // Bahdanau W_q [attention, query], no bias
    private readonly Linear? key;     // Bahdanau W_k [attention, memory] with b; Luong general W_a [query, memory], no bias
    private readonly Linear? score;   // Bahdanau v [1, attention], no bias

    public RecurrentAttention Kind { get; }

    /// <param name="kind">The score function.</param>
    /// <param name="querySize">Width of the decoder states s_t.</param>
    /// <param name="memorySize">Width of the encoder outputs h̄_s (must equal querySize for Luong's dot score).</param>
    /// <param name="attentionSize">Width of Bahdanau's alignment MLP (unused by the Luong scores).</param>
    public Alignment(RecurrentAttention kind, int querySize, int memorySize, int attentionSize) : base(nameof(Alignment))
    {
        Kind = kind;
        switch (kind)
        {
            case RecurrentAttention.Bahdanau:
                query = nn.Linear(querySize, attentionSize, hasBias: false);
                key = nn.Linear(memorySize, attentionSize, hasBias: true);
                score = nn.Linear(attentionSize, 1, hasBias: false);
                break;
            case RecurrentAttention.LuongGeneral:
                key = nn.Linear(memorySize, querySize, hasBias: false);
                break;
            case RecurrentAttention.LuongDot:
                if (memorySize != querySize)
                    throw new ArgumentException($"Luong's dot score s_tᵀ h̄_s needs memories as wide as the queries; got memory {memorySize}, query {querySize}");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "an alignment model needs an attention kind other than None");
        }
        RegisterComponents();
    }

    /// <summary>memory h̄: [batch, src, memory] -> keys [batch, src, attention or query], computed once per sentence.</summary>
    public Tensor Keys(Tensor memory) => key?.forward(memory) ?? memory.alias();

    /// <summary>queries s: [batch, tgt, query]; keys: [batch, src, key] -> unnormalised scores [batch, tgt, src].</summary>
    public Tensor Scores(Tensor queries, Tensor keys)
    {
        if (score is null) return matmul(queries, keys.transpose(1, 2));                    // s_tᵀ (W_a) h̄_s: [batch, tgt, src]
        var q = query!.forward(queries).unsqueeze(2);                                       // W_q s_t: [batch, tgt, 1, attention]
        return score.forward((q + keys.unsqueeze(1)).tanh()).squeeze(-1);                   // vᵀ tanh(W_q s_t + W_k h̄_s + b): [batch, tgt, src]
    }

    /// <summary>Softmax of <see cref="Scores"/> over the source; exactly 0 where <paramref name="mask"/> ([batch, src] bool) is false.</summary>
    public Tensor Probabilities(Tensor queries, Tensor keys, Tensor mask) =>
        Scores(queries, keys).masked_fill(mask.unsqueeze(1).logical_not(), double.NegativeInfinity).softmax(-1); // [batch, tgt, src]
}

/// <summary>
/// The recurrent decoder's state: the stack's state [decoderLayers, batch, hidden] (with the LSTM cell state), h̃_{t-1}
/// [batch, embedding] with input feeding, and what attention reads (memory, keys, source mask). Its tensors belong to no
/// dispose scope; <see cref="Dispose"/> frees them. Its size grows with the source length only, never with the steps taken.
/// </summary>
public sealed class RecurrentDecoderState : DecoderState
{
    internal RecurrentDecoderState(RecurrentState initial, Tensor? feed, AttentionSource? source)
    {
        Recurrent = new RecurrentState(initial.Hidden.DetachFromDisposeScope(), initial.Cell?.DetachFromDisposeScope());
        Feed = feed?.DetachFromDisposeScope();
        // Aliases, so that disposing the state never frees the caller's EncoderOutput.
        if (source is not null)
            Source = new AttentionSource(source.Memory.alias().DetachFromDisposeScope(), source.Keys.DetachFromDisposeScope(),
                                         source.Mask.alias().DetachFromDisposeScope());
    }

    /// <summary>The decoder stack's state: Hidden (and Cell for LSTM) [decoderLayers, batch, hidden].</summary>
    public RecurrentState Recurrent { get; private set; }
    /// <summary>h̃_{t-1} [batch, embedding] with input feeding, else null.</summary>
    public Tensor? Feed { get; private set; }
    internal AttentionSource? Source { get; private set; }

    /// <summary>Every tensor the state holds (for inspection and memory accounting).</summary>
    public IEnumerable<Tensor> Tensors =>
        new[] { Recurrent.Hidden, Recurrent.Cell, Feed, Source?.Memory, Source?.Keys, Source?.Mask }.OfType<Tensor>();

    internal void Advance(RecurrentState next, Tensor? feed)
    {
        Recurrent.Hidden.Dispose();
        Recurrent.Cell?.Dispose();
        Feed?.Dispose();
        Recurrent = new RecurrentState(next.Hidden.DetachFromDisposeScope(), next.Cell?.DetachFromDisposeScope());
        Feed = feed?.DetachFromDisposeScope();
        Step++;
    }

    public override void Select(Tensor batchIndices)
    {
        static Tensor Pick(Tensor t, long dim, Tensor idx)
        {
            var picked = t.index_select(dim, idx).DetachFromDisposeScope();
            t.Dispose();
            return picked;
        }
        Recurrent = new RecurrentState(Pick(Recurrent.Hidden, 1, batchIndices), Recurrent.Cell is null ? null : Pick(Recurrent.Cell, 1, batchIndices));
        if (Feed is not null) Feed = Pick(Feed, 0, batchIndices);
        if (Source is not null)
            Source = new AttentionSource(Pick(Source.Memory, 0, batchIndices), Pick(Source.Keys, 0, batchIndices), Pick(Source.Mask, 0, batchIndices));
    }

    public override void Dispose()
    {
        foreach (var t in Tensors) t.Dispose();
    }
}
