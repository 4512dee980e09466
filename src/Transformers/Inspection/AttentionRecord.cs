namespace Transformers.Inspection;

/// <summary>Which attention of a model a map comes from; its queries and keys follow from it (see <see cref="AttentionRecord.QueryTokens"/>).</summary>
public enum AttentionKind
{
    /// <summary>Encoder (or BERT) self-attention: source tokens attend to source tokens.</summary>
    EncoderSelf,
    /// <summary>Masked decoder self-attention: target tokens attend to earlier target tokens.</summary>
    DecoderSelf,
    /// <summary>Encoder-decoder cross-attention: target tokens attend to source tokens.</summary>
    Cross,
    /// <summary>A recurrent decoder's attention over the encoder outputs (Bahdanau/Luong): one head, target to source.</summary>
    Recurrent,
}

/// <summary>
/// One layer of one attention kind: the probabilities of every head, row-major [heads, queries, keys]; each row
/// (one query) sums to 1 over the keys it may see. Never averaged over heads.
/// </summary>
public sealed class AttentionLayer
{
    public AttentionKind Kind { get; }
    /// <summary>0-based layer index within its kind.</summary>
    public int Layer { get; }
    public int Heads { get; }
    public int Queries { get; }
    public int Keys { get; }
    /// <summary>[heads, queries, keys], row-major.</summary>
    public float[] Probabilities { get; }

    public AttentionLayer(AttentionKind kind, int layer, int heads, int queries, int keys, float[] probabilities)
    {
        if (heads <= 0 || queries <= 0 || keys <= 0)
            throw new ArgumentException($"{AttentionKinds.Name(kind)} layer {layer}: heads {heads}, queries {queries} and keys {keys} must be positive");
        if (probabilities.Length != (long)heads * queries * keys)
            throw new ArgumentException($"{AttentionKinds.Name(kind)} layer {layer}: {probabilities.Length} probabilities for [heads {heads}, queries {queries}, keys {keys}]");
        (Kind, Layer, Heads, Queries, Keys, Probabilities) = (kind, layer, heads, queries, keys, probabilities);
    }

    public float this[int head, int query, int key] => Probabilities[((long)head * Queries + query) * Keys + key];

    /// <summary>The probabilities of one query over all keys.</summary>
    public ReadOnlySpan<float> Row(int head, int query) => Probabilities.AsSpan((int)(((long)head * Queries + query) * Keys), Keys);

    /// <summary>One head as a [queries, keys] span.</summary>
    public ReadOnlySpan<float> Head(int head) => Probabilities.AsSpan(head * Queries * Keys, Queries * Keys);
}

/// <summary>
/// Gate activations of one LSTM/GRU layer over time (for the recurrent translators): gate name (PyTorch order: LSTM
/// i, f, g, o and the cell c; GRU r, z, n) -> [steps, units] row-major.
/// </summary>
public sealed record GateTrace(string Cell, string Side, int Layer, int Steps, int Units, IReadOnlyDictionary<string, float[]> Gates);

/// <summary>
/// Everything a report is built from: the tokens, and per attention kind, layer and head the probabilities of one
/// sentence (batch 1, padding removed). <see cref="Notes"/> carries what a reader must know (e.g. truncation).
/// The JSON form is documented in docs/attention-record.md.
/// </summary>
public sealed record AttentionRecord
{
    /// <summary>A short name of the model (e.g. "all-MiniLM-L6-v2", "runs/fr-en (transformer)").</summary>
    public required string Model { get; init; }
    /// <summary>Source (encoder) tokens, or the single sequence of an encoder-only model.</summary>
    public required IReadOnlyList<string> SourceTokens { get; init; }
    /// <summary>Target (decoder input) tokens of an encoder-decoder model; null for encoder-only models.</summary>
    public IReadOnlyList<string>? TargetTokens { get; init; }
    /// <summary>Every attention layer the model ran, grouped by kind, layers in order.</summary>
    public required IReadOnlyList<AttentionLayer> Layers { get; init; }
    /// <summary>Recurrent gate traces (empty for Transformers).</summary>
    public IReadOnlyList<GateTrace> Gates { get; init; } = [];
    /// <summary>Free-text remarks shown in every report (truncation, pre-tokenized input, ...).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>The kinds present, in enum order.</summary>
    public IReadOnlyList<AttentionKind> Kinds => Layers.Select(l => l.Kind).Distinct().Order().ToArray();

    /// <summary>The layers of one kind, in order.</summary>
    public IReadOnlyList<AttentionLayer> LayersOf(AttentionKind kind) => Layers.Where(l => l.Kind == kind).OrderBy(l => l.Layer).ToArray();

    /// <summary>The tokens that ask (rows of a map).</summary>
    public IReadOnlyList<string> QueryTokens(AttentionKind kind) => kind == AttentionKind.EncoderSelf ? SourceTokens : Target(kind);

    /// <summary>The tokens attended to (columns of a map).</summary>
    public IReadOnlyList<string> KeyTokens(AttentionKind kind) => kind == AttentionKind.DecoderSelf ? Target(kind) : SourceTokens;

    private IReadOnlyList<string> Target(AttentionKind kind) =>
        TargetTokens ?? throw new InvalidOperationException($"{AttentionKinds.Name(kind)} attention needs target tokens, but the record has none");

    /// <summary>Checks that every layer's shape matches the tokens; returns this.</summary>
    public AttentionRecord Validate()
    {
        if (SourceTokens.Count == 0) throw new ArgumentException("the attention record has no source tokens");
        foreach (var l in Layers)
        {
            int q = QueryTokens(l.Kind).Count, k = KeyTokens(l.Kind).Count;
            if (l.Queries != q || l.Keys != k)
                throw new ArgumentException($"{AttentionKinds.Name(l.Kind)} layer {l.Layer} is [{l.Queries} x {l.Keys}], but the tokens give [{q} x {k}]");
        }
        return this;
    }
}

/// <summary>The snake_case names used in JSON, file names and the viewer.</summary>
public static class AttentionKinds
{
    public static string Name(AttentionKind kind) => kind switch
    {
        AttentionKind.EncoderSelf => "encoder_self",
        AttentionKind.DecoderSelf => "decoder_self",
        AttentionKind.Cross => "cross",
        AttentionKind.Recurrent => "recurrent",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static AttentionKind Parse(string name)
    {
        foreach (var kind in Enum.GetValues<AttentionKind>())
            if (Name(kind) == name) return kind;
        throw new ArgumentException($"unknown attention kind '{name}' (known: encoder_self, decoder_self, cross, recurrent)");
    }
}
