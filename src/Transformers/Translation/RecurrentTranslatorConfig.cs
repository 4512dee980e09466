using System.Text.Json.Serialization;
using Transformers.Recurrent;

namespace Transformers.Translation;

/// <summary>How the recurrent decoder looks at the encoder outputs (written by its CLI name in JSON configs).</summary>
[JsonConverter(typeof(KebabCaseEnumConverter<RecurrentAttention>))]
public enum RecurrentAttention
{
    /// <summary>No attention: the source reaches the decoder only through its initial state (Sutskever et al. 2014).</summary>
    None,
    /// <summary>Additive: score(s, h) = vᵀ tanh(W_q s + W_k h + b) (Bahdanau et al. 2015, eq. 6 and App. A.1.2).</summary>
    Bahdanau,
    /// <summary>Dot product: score(s, h) = sᵀ h (Luong et al. 2015, eq. 8, "dot").</summary>
    LuongDot,
    /// <summary>Bilinear: score(s, h) = sᵀ W_a h (Luong et al. 2015, eq. 8, "general").</summary>
    LuongGeneral,
}

/// <summary>How a <see cref="RecurrentTranslator"/> draws its parameters (written by name in JSON configs).</summary>
[JsonConverter(typeof(KebabCaseEnumConverter<RecurrentInitialization>))]
public enum RecurrentInitialization
{
    /// <summary>
    /// Every parameter U(-0.1, 0.1) (Luong et al. 2015 §4.1; Sutskever et al. 2014 use ±0.08): 1.6x PyTorch's bound for
    /// the recurrent weights of a 256-wide stack, 2.2x for a 496-wide one. The default.
    /// </summary>
    Uniform,
    /// <summary>
    /// Embeddings U(-0.1, 0.1); recurrent layers U(-1/√hidden, 1/√hidden) and linear layers U(-1/√fan_in, 1/√fan_in), as
    /// nn.GRU/nn.LSTM/nn.Linear draw them (the plain PyTorch reference's initialisation).
    /// </summary>
    [JsonStringEnumMemberName("pytorch")] PyTorch,
}

/// <summary>Hyper-parameters of <see cref="RecurrentTranslator"/> (saved as JSON beside every checkpoint).</summary>
public sealed record RecurrentTranslatorConfig : TranslatorConfig
{
    /// <summary>The cell of encoder and decoder; also the architecture name ("rnn", "lstm", "gru").</summary>
    public RecurrentCellKind Cell { get; init; } = RecurrentCellKind.Lstm;
    /// <summary>How the decoder attends to the encoder outputs.</summary>
    public RecurrentAttention Attention { get; init; } = RecurrentAttention.Bahdanau;
    /// <summary>Width of the token embeddings and of the attentional vector h̃ (the output layer's input).</summary>
    public int EmbeddingSize { get; init; } = 256;
    /// <summary>
    /// Decoder hidden size. Unless <see cref="EncoderHiddenSize"/> is set, the bidirectional encoder has HiddenSize / 2 per
    /// direction (the left-to-right one HiddenSize), so its outputs are HiddenSize wide.
    /// </summary>
    public int HiddenSize { get; init; } = 512;
    /// <summary>
    /// Hidden size of each encoder direction; null (the default, and every config saved before the field existed):
    /// HiddenSize / 2 with a bidirectional encoder, HiddenSize without. The encoder outputs h̄_s are
    /// <see cref="EncoderOutputSize"/> wide; the bridge and the attention map them to the decoder's HiddenSize.
    /// </summary>
    public int? EncoderHiddenSize { get; init; }
    /// <summary>
    /// Encoder reads the source left to right and right to left, outputs concatenated (Bahdanau et al. 2015 §3.2). False:
    /// one left-to-right encoder of HiddenSize, or of EncoderHiddenSize when set (at the default sizes, about twice the
    /// encoder parameters of the bidirectional one).
    /// </summary>
    public bool BidirectionalEncoder { get; init; } = true;
    /// <summary>Layers of the encoder stack, and of the decoder stack unless <see cref="DecoderLayers"/> is set.</summary>
    public int NumLayers { get; init; } = 2;
    /// <summary>Layers of the decoder stack; null (the default, and every config saved before the field existed): NumLayers.</summary>
    public int? DecoderLayers { get; init; }
    /// <summary>Width of Bahdanau's alignment MLP (unused by the other attentions).</summary>
    public int AttentionSize { get; init; } = 256;
    /// <summary>Feed h̃_{t-1} to the decoder input at step t (Luong et al. 2015 §3.3). Forces the step-by-step path in training.</summary>
    public bool InputFeeding { get; init; }
    /// <summary>How the parameters are drawn before training (see <see cref="RecurrentInitialization"/>).</summary>
    public RecurrentInitialization Initialization { get; init; } = RecurrentInitialization.Uniform;
    /// <summary>Dropout on embeddings, between recurrent layers and on h̃ before the output layer (training only).</summary>
    public double Dropout { get; init; } = 0.2;
    /// <summary>One embedding table for source, target and the output layer (Press &amp; Wolf 2017), as the Transformer.</summary>
    public bool TieEmbeddings { get; init; } = true;
    /// <summary>
    /// Longest source accepted and cap on decoded length. There is no positional table: this costs no memory and may be
    /// raised freely.
    /// </summary>
    public override int MaxLength { get; init; } = 1024;

    /// <summary>For tests: embeddings 16, hidden 16 (8 per encoder direction), 2 layers, no dropout.</summary>
    public static RecurrentTranslatorConfig Tiny(int vocabSize, RecurrentCellKind cell, RecurrentAttention attention) => new()
    {
        VocabSize = vocabSize, Cell = cell, Attention = attention, EmbeddingSize = 16, HiddenSize = 16, NumLayers = 2,
        AttentionSize = 16, Dropout = 0.0,
    };

    /// <summary>
    /// Parameter-matched to <see cref="TransformerConfig.Small"/> (same 256-wide tied embeddings; the recurrent part is
    /// within a few percent of the Transformer's 5.53 M non-embedding parameters with Bahdanau attention): 2 layers,
    /// hidden size by cell (RNN 800, LSTM 416, GRU 496; the cheaper the cell, the wider).
    /// </summary>
    public static RecurrentTranslatorConfig Small(int vocabSize, RecurrentCellKind cell, RecurrentAttention attention = RecurrentAttention.Bahdanau) => new()
    {
        VocabSize = vocabSize, Cell = cell, Attention = attention, EmbeddingSize = 256, NumLayers = 2, AttentionSize = 256, Dropout = 0.2,
        HiddenSize = cell switch { RecurrentCellKind.Rnn => 800, RecurrentCellKind.Gru => 496, _ => 416 },
    };

    /// <summary>
    /// Parameter-matched to <see cref="TransformerConfig.Base"/> (512-wide tied embeddings; about 29.4 M non-embedding
    /// parameters with Bahdanau attention): 2 layers, hidden size by cell (RNN 1856, LSTM 992, GRU 1184).
    /// </summary>
    public static RecurrentTranslatorConfig Base(int vocabSize, RecurrentCellKind cell, RecurrentAttention attention = RecurrentAttention.Bahdanau) => new()
    {
        VocabSize = vocabSize, Cell = cell, Attention = attention, EmbeddingSize = 512, NumLayers = 2, AttentionSize = 512, Dropout = 0.2,
        HiddenSize = cell switch { RecurrentCellKind.Rnn => 1856, RecurrentCellKind.Gru => 1184, _ => 992 },
    };

    /// <summary>
    /// The quality-per-CPU-minute recipe (issue 12): a bidirectional one-layer encoder of 256 per direction, a bridge to a
    /// one-layer decoder of 256, Luong "general" attention over all decoder states at once (no input feeding, so training
    /// takes the fused path: one native call over the whole target, then one batched attention), 256-wide tied
    /// embeddings, dropout 0.1. About 3.7 M parameters with a GRU and an 8k vocabulary, half of <see cref="Small"/>, so
    /// about twice the optimizer steps fit in a CPU budget (its recipes: <see cref="TranslationRecipe.For"/>). The shape of the plain
    /// PyTorch reference (shared/reference/translate_ref.py --arch gru), which keeps PyTorch's initialisation; Luong's
    /// U(-0.1, 0.1) reached a lower dev loss at every evaluation of a 12-minute run here
    /// (experiments/results/recurrent-recipe), so the preset keeps it.
    /// </summary>
    public static RecurrentTranslatorConfig Compact(int vocabSize, RecurrentCellKind cell, RecurrentAttention attention = RecurrentAttention.LuongGeneral) => new()
    {
        VocabSize = vocabSize, Cell = cell, Attention = attention, EmbeddingSize = 256, HiddenSize = 256, EncoderHiddenSize = 256,
        BidirectionalEncoder = true, NumLayers = 1, DecoderLayers = 1, AttentionSize = 256, InputFeeding = false, Dropout = 0.1,
        TieEmbeddings = true, Initialization = RecurrentInitialization.Uniform,
    };

    /// <summary>Hidden size of each encoder direction: <see cref="EncoderHiddenSize"/>, else HiddenSize / 2 (bidirectional) or HiddenSize.</summary>
    [JsonIgnore] public int EncoderDirectionSize => EncoderHiddenSize ?? (BidirectionalEncoder ? HiddenSize / 2 : HiddenSize);
    /// <summary>Width of the encoder outputs h̄_s = [h→_s; h←_s] (or h→_s): what attention reads and the bridge starts from.</summary>
    [JsonIgnore] public int EncoderOutputSize => (BidirectionalEncoder ? 2 : 1) * EncoderDirectionSize;
    /// <summary>Layers of the decoder stack: <see cref="DecoderLayers"/>, else NumLayers.</summary>
    [JsonIgnore] public int DecoderLayerCount => DecoderLayers ?? NumLayers;

    /// <summary>The architecture of the cell: rnn, lstm or gru.</summary>
    [JsonIgnore] public override TranslatorArchitecture Architecture => TranslatorFactory.ArchitectureOf(Cell);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first field out of range.</summary>
    public RecurrentTranslatorConfig Validate()
    {
        ValidateVocabulary();
        Require(Enum.IsDefined(Cell), $"Cell = {Cell} is not a cell kind");
        Require(Enum.IsDefined(Attention), $"Attention = {Attention} is not an attention kind");
        Require(EmbeddingSize > 0, $"EmbeddingSize = {EmbeddingSize} must be > 0");
        Require(HiddenSize > 0 && (HiddenSize % 2 == 0 || !BidirectionalEncoder || EncoderHiddenSize is not null),
                $"HiddenSize = {HiddenSize} must be positive and, with a bidirectional encoder and no EncoderHiddenSize, even (half per direction)");
        Require(EncoderHiddenSize is null or > 0, $"EncoderHiddenSize = {EncoderHiddenSize} must be > 0 (or null: from HiddenSize)");
        Require(NumLayers > 0, $"NumLayers = {NumLayers} must be > 0");
        Require(DecoderLayers is null or > 0, $"DecoderLayers = {DecoderLayers} must be > 0 (or null: NumLayers)");
        Require(Attention != RecurrentAttention.LuongDot || EncoderOutputSize == HiddenSize,
                $"luong-dot scores s_tᵀ h̄_s: the encoder outputs ({EncoderOutputSize} wide) must be as wide as the decoder state (HiddenSize = {HiddenSize}); use luong-general or bahdanau");
        Require(Enum.IsDefined(Initialization), $"Initialization = {Initialization} is not an initialisation");
        Require(AttentionSize > 0, $"AttentionSize = {AttentionSize} must be > 0");
        Require(Dropout is >= 0 and < 1, $"Dropout = {Dropout} must be in [0, 1)");
        Require(MaxLength > 0, $"MaxLength = {MaxLength} must be > 0");
        return this;
    }

    /// <summary>
    /// Reads a config saved for <paramref name="architecture"/>; the cell in the JSON must match it. Configs written
    /// before 2026-12-06 also hold TeacherForcingRatio and ScheduledSamplingK, training knobs now of the trainer
    /// (<see cref="Training.TeacherForcing"/>): inference does not read them, and neither does this.
    /// </summary>
    public static RecurrentTranslatorConfig FromJson(string json, string source, TranslatorArchitecture architecture)
    {
        var config = Read<RecurrentTranslatorConfig>(json, source).Validate();
        if (config.Architecture != architecture)
            throw new ArgumentException($"the config's cell is {config.Cell} ('{TranslatorFactory.NameOf(config.Architecture)}'), but the checkpoint says '{TranslatorFactory.NameOf(architecture)}'");
        return config;
    }
}
