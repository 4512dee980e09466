using System.Text.Json;
using System.Text.Json.Serialization;

namespace Transformers.Bert;

/// <summary>Activation of the feed-forward block (HF's <c>hidden_act</c>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Activation>))]
public enum Activation
{
    /// <summary>Exact GELU, x Φ(x) with the erf (HF "gelu"; BERT and MiniLM).</summary>
    [JsonStringEnumMemberName("gelu")] Gelu,
    /// <summary>The tanh approximation of GELU (HF "gelu_new" / "gelu_pytorch_tanh").</summary>
    [JsonStringEnumMemberName("gelu_new")] GeluTanh,
    [JsonStringEnumMemberName("relu")] Relu,
}

/// <summary>
/// A BERT encoder's hyper-parameters. The JSON uses the field names of HF's BertConfig <c>config.json</c>,
/// so an HF config file loads as is (unknown fields such as <c>architectures</c> are ignored).
/// </summary>
public sealed record BertConfig
{
    /// <summary>Number of token ids (30522 for bert-base-uncased).</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 30522;
    /// <summary>dModel: width of every hidden state.</summary>
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 768;
    /// <summary>Number of encoder layers.</summary>
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; } = 12;
    /// <summary>numHeads per layer; must divide hidden_size.</summary>
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; } = 12;
    /// <summary>dFf: width of the feed-forward block.</summary>
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 3072;
    /// <summary>Feed-forward activation.</summary>
    [JsonPropertyName("hidden_act")] public Activation HiddenAct { get; init; } = Activation.Gelu;
    /// <summary>Dropout on embeddings and sub-layer outputs (training only).</summary>
    [JsonPropertyName("hidden_dropout_prob")] public double HiddenDropoutProb { get; init; } = 0.1;
    /// <summary>Dropout on attention probabilities (training only).</summary>
    [JsonPropertyName("attention_probs_dropout_prob")] public double AttentionProbsDropoutProb { get; init; } = 0.1;
    /// <summary>Longest sequence the learned position table covers.</summary>
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 512;
    /// <summary>Number of segment (token type) ids: 2 for sentence pairs.</summary>
    [JsonPropertyName("type_vocab_size")] public int TypeVocabSize { get; init; } = 2;
    /// <summary>Std of the normal initialisation of weights.</summary>
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; init; } = 0.02;
    /// <summary>LayerNorm epsilon (1e-12 in BERT).</summary>
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; init; } = 1e-12;
    /// <summary>Id of [PAD].</summary>
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; init; }
    /// <summary>HF writes "BertModel" here; kept so a saved config reads as HF's.</summary>
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "bert";
    /// <summary>A classifier's class names by id ("0" -> "apt"), as HF writes them; null for other models.</summary>
    [JsonPropertyName("id2label"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public Dictionary<string, string>? IdToLabel { get; init; }

    public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>A tiny model for tests: hidden 32, 2 layers, 4 heads, FFN 64, vocabulary 100, 64 positions.</summary>
    public static BertConfig Tiny => new()
    {
        VocabSize = 100, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 64,
        MaxPositionEmbeddings = 64, TypeVocabSize = 2,
    };

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first field that is out of range.</summary>
    public BertConfig Validate()
    {
        Require(VocabSize > 0, "vocab_size", VocabSize, "> 0");
        Require(HiddenSize > 0, "hidden_size", HiddenSize, "> 0");
        Require(NumHiddenLayers > 0, "num_hidden_layers", NumHiddenLayers, "> 0");
        Require(NumAttentionHeads > 0, "num_attention_heads", NumAttentionHeads, "> 0");
        if (HiddenSize % NumAttentionHeads != 0)
            throw new ArgumentException($"BertConfig: hidden_size ({HiddenSize}) must be divisible by num_attention_heads ({NumAttentionHeads})");
        Require(IntermediateSize > 0, "intermediate_size", IntermediateSize, "> 0");
        Require(MaxPositionEmbeddings > 0, "max_position_embeddings", MaxPositionEmbeddings, "> 0");
        Require(TypeVocabSize > 0, "type_vocab_size", TypeVocabSize, "> 0");
        Require(HiddenDropoutProb is >= 0 and < 1, "hidden_dropout_prob", HiddenDropoutProb, "in [0, 1)");
        Require(AttentionProbsDropoutProb is >= 0 and < 1, "attention_probs_dropout_prob", AttentionProbsDropoutProb, "in [0, 1)");
        Require(LayerNormEps > 0, "layer_norm_eps", LayerNormEps, "> 0");
        Require(PadTokenId >= 0 && PadTokenId < VocabSize, "pad_token_id", PadTokenId, $"in [0, {VocabSize})");
        return this;
    }

    private static void Require(bool ok, string field, object value, string rule)
    {
        if (!ok) throw new ArgumentException($"BertConfig: {field} = {value} must be {rule}");
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads an HF <c>config.json</c> (or ours); <paramref name="source"/> names it in errors.</summary>
    public static BertConfig FromJson(string json, string source = "config.json")
    {
        try
        {
            var config = JsonSerializer.Deserialize<BertConfig>(json, Json)
                         ?? throw new InvalidDataException($"{source}: empty BERT config");
            return config.Validate();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: invalid BERT config JSON at {e.Path} (line {e.LineNumber + 1}): {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{source}: {e.Message}", e);
        }
    }

    public static BertConfig Load(string path) => FromJson(File.ReadAllText(path), path);
}
