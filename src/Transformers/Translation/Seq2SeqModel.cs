using TorchSharp;
using TorchSharp.Modules;
using Transformers.Modules;
using static TorchSharp.torch;

namespace Transformers.Translation;

/// <summary>Ids of the special tokens every translator needs.</summary>
public sealed record SpecialTokens(long Pad, long Bos, long Eos, long Unk);

/// <summary>The encoder's result, kept for every decoding step.</summary>
/// <param name="Memory">[batch, src, dModel]: encoder states (for recurrent models, the encoder outputs)</param>
/// <param name="SourceMask">[batch, src] bool: true on real tokens</param>
public sealed record EncoderOutput(Tensor Memory, Tensor SourceMask);

/// <summary>
/// What a decoder carries from one step to the next (key/value cache, recurrent state). Owned by the decoding loop:
/// <see cref="Select"/> reorders or expands it along the batch (beam search), <see cref="IDisposable.Dispose"/> frees it.
/// </summary>
public abstract class DecoderState : IDisposable
{
    /// <summary>Number of target tokens consumed so far.</summary>
    public int Step { get; protected set; }

    /// <summary>Keeps rows <paramref name="batchIndices"/> ([n] int64), in that order, for every tensor of the state.</summary>
    public abstract void Select(Tensor batchIndices);

    public abstract void Dispose();
}

/// <summary>
/// The seam every translator offers (ARCHITECTURE.md): teacher-forced logits for a batch, <see cref="Encode"/>, and one
/// <see cref="DecodeStep"/> from a state. Greedy and beam search, the trainer and the CLI are written against this class only.
/// </summary>
public abstract class Seq2SeqModel : nn.Module
{
    protected Seq2SeqModel(string name) : base(name) { }

    public abstract int VocabSize { get; }
    public abstract SpecialTokens Special { get; }
    /// <summary>Longest source or target the model accepts (positions).</summary>
    public abstract int MaxLength { get; }
    public abstract TranslatorArchitecture Architecture { get; }
    /// <summary>The architecture's name as checkpoints store it ("transformer", "lstm", "gru", "rnn").</summary>
    public string ArchitectureName => TranslatorFactory.NameOf(Architecture);
    /// <summary>The model's config as JSON (saved in checkpoints; <see cref="TranslatorFactory.FromConfig"/> rebuilds the model from it).</summary>
    public abstract string ConfigJson();

    /// <summary>src: [batch, src] int64; srcMask: [batch, src] bool; tgtIn: [batch, tgt] (starting with BOS) -> logits [batch, tgt, vocab]</summary>
    public abstract Tensor Forward(Tensor src, Tensor srcMask, Tensor tgtIn);

    /// <summary>
    /// Teacher-forced logits with every attention's probabilities, for inspection. Models without attention return
    /// <c>Attention = null</c> (the default).
    /// </summary>
    public virtual TranslatorOutput ForwardWithAttention(Tensor src, Tensor srcMask, Tensor tgtIn) => new(Forward(src, srcMask, tgtIn), null);

    /// <summary>Whether the training forward can read the model's own predictions as decoder inputs (<see cref="TeacherForcingRatio"/> below 1): decoders that run step by step.</summary>
    public virtual bool SupportsScheduledSampling => false;

    /// <summary>
    /// In training mode, the chance that decoder input t is the reference token y_{t-1} rather than a draw from the
    /// model's own prediction at t-1; 1 (the default) is teacher forcing, and evaluation always is. The trainer sets it
    /// before each step from its <see cref="Training.TeacherForcing"/> schedule; it is not part of the config or the weights.
    /// </summary>
    public double TeacherForcingRatio
    {
        get => teacherForcingRatio;
        set
        {
            if (value is not (>= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(value), value, "the teacher forcing ratio must be in [0, 1]");
            if (value < 1 && !SupportsScheduledSampling) throw new NotSupportedException($"{ArchitectureName}: the decoder reads all its inputs at once in training; it can only be teacher-forced");
            teacherForcingRatio = value;
        }
    }
    private double teacherForcingRatio = 1.0;

    /// <summary>Whether <see cref="ForwardWithAttention"/> returns attention probabilities.</summary>
    public virtual bool HasAttention => false;

    /// <summary>The embedding that is also the output layer (tied embeddings: logits = h Eᵀ); null when the output layer is its own Linear.</summary>
    protected virtual Embedding? OutputEmbedding => null;

    /// <summary>
    /// Lays the weights out for decoding a sentence or a few at a time on the CPU (translate, serve): every Linear weight,
    /// and the tied output embedding, re-laid as <see cref="LinearLayout"/> says, so that a beam of 4 rows takes oneMKL's
    /// fast path (`experiments/results/speed/decode-layout.md`). Names, shapes, values and checkpoints are unchanged;
    /// parameters are replaced, so call it after moving the model to its device and before creating an optimizer.
    /// Returns how many weights were re-laid.
    /// </summary>
    public int UseInputMajorStorage() =>
        LinearLayout.UseInputMajorStorage(this) + (OutputEmbedding is { } e && LinearLayout.UseInputMajorStorage(e) ? 1 : 0);

    /// <summary>Moves the model to <paramref name="device"/> for decoding; on the CPU also lays its weights out as <see cref="UseInputMajorStorage"/> does.</summary>
    public void PrepareForDecoding(Device device)
    {
        this.to(device);
        if (device.type == DeviceType.CPU) UseInputMajorStorage();
    }

    /// <summary>src: [batch, src]; srcMask: [batch, src] bool -> the encoder's output.</summary>
    public abstract EncoderOutput Encode(Tensor src, Tensor srcMask);

    /// <summary>A fresh decoder state for the encoded batch (no target token consumed yet).</summary>
    public abstract DecoderState StartDecoding(EncoderOutput encoded);

    /// <summary>prevTokens: [batch] (BOS at the first step) -> log-probabilities [batch, vocab] of the next token; advances <paramref name="state"/>.</summary>
    public abstract Tensor DecodeStep(Tensor prevTokens, DecoderState state);

    /// <summary>Throws unless <paramref name="ids"/> is [batch, len ≤ MaxLength]: reads only metadata, never the device (ids are checked where batches are built).</summary>
    protected void CheckIdShape(Tensor ids, string what)
    {
        if (ids.dim() != 2) throw new ArgumentException($"{what} ids must be [batch, len]; got [{string.Join(", ", ids.shape)}]");
        if (ids.shape[1] > MaxLength) throw new ArgumentException($"{what} length {ids.shape[1]} exceeds the model's maximum length {MaxLength}");
    }

    /// <summary>Throws unless ids from <paramref name="min"/> to <paramref name="max"/> (already on the host) are in the vocabulary.</summary>
    protected void CheckIdRange(long min, long max, string what)
    {
        if (min < 0 || max >= VocabSize) throw new ArgumentException($"{what} id {(min < 0 ? min : max)} is outside the vocabulary of {VocabSize}");
    }
}

/// <summary>
/// A translator built from a <see cref="TranslatorConfig"/>: its vocabulary, special ids, length limit, architecture
/// and saved config come from <see cref="Config"/>.
/// </summary>
public abstract class Seq2SeqModel<TConfig>(string name, TConfig config) : Seq2SeqModel(name) where TConfig : TranslatorConfig
{
    /// <summary>The config the model was built from (validated by the derived constructor).</summary>
    public TConfig Config { get; } = config;
    public override int VocabSize => Config.VocabSize;
    public override SpecialTokens Special => Config.Special;
    public override int MaxLength => Config.MaxLength;
    public override TranslatorArchitecture Architecture => Config.Architecture;
    public override string ConfigJson() => Config.ToJson();
}
