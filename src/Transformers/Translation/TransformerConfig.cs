using System.Text.Json.Serialization;

namespace Transformers.Translation;

/// <summary>Where LayerNorm sits in a residual block.</summary>
[JsonConverter(typeof(KebabCaseEnumConverter<NormPosition>))]
public enum NormPosition
{
    /// <summary>x + Sublayer(LayerNorm(x)), with a final LayerNorm (Xiong et al. 2020): stable without long warmup.</summary>
    Pre,
    /// <summary>LayerNorm(x + Sublayer(x)), as in Vaswani et al. 2017.</summary>
    Post,
}

/// <summary>Hyper-parameters of the encoder-decoder Transformer translator (saved as JSON beside every checkpoint).</summary>
public sealed record TransformerConfig : TranslatorConfig
{
    /// <summary>dModel: width of every hidden state and embedding.</summary>
    public int DModel { get; init; } = 512;
    /// <summary>numHeads of every attention; must divide dModel.</summary>
    public int NumHeads { get; init; } = 8;
    /// <summary>Encoder layers.</summary>
    public int EncoderLayers { get; init; } = 6;
    /// <summary>Decoder layers.</summary>
    public int DecoderLayers { get; init; } = 6;
    /// <summary>dFf: width of the position-wise feed-forward block.</summary>
    public int DFf { get; init; } = 2048;
    /// <summary>Dropout on embeddings, sub-layer outputs and the feed-forward hidden layer (training only).</summary>
    public double Dropout { get; init; } = 0.1;
    /// <summary>Dropout on attention probabilities (training only).</summary>
    public double AttentionDropout { get; init; } = 0.0;
    /// <summary>Pre-LN or post-LN residual blocks.</summary>
    public NormPosition Norm { get; init; } = NormPosition.Pre;
    /// <summary>One embedding table for source, target and the output projection (Press &amp; Wolf 2017; Vaswani et al. §3.4).</summary>
    public bool TieEmbeddings { get; init; } = true;
    /// <summary>Longest source or target sequence (size of the sinusoidal table).</summary>
    public override int MaxLength { get; init; } = 256;
    /// <summary>Always <see cref="TranslatorArchitecture.Transformer"/>.</summary>
    [JsonIgnore] public override TranslatorArchitecture Architecture => TranslatorArchitecture.Transformer;

    /// <summary>For tests: dModel 32, 2 heads, 2+2 layers, dFf 64.</summary>
    public static TransformerConfig Tiny(int vocabSize) => new()
    {
        VocabSize = vocabSize, DModel = 32, NumHeads = 2, EncoderLayers = 2, DecoderLayers = 2, DFf = 64, Dropout = 0.0, MaxLength = 64,
    };

    /// <summary>The demo: trains in minutes on 2 cores (dModel 256, 4 heads, 3+3 layers, dFf 1024).</summary>
    public static TransformerConfig Small(int vocabSize) => new()
    {
        VocabSize = vocabSize, DModel = 256, NumHeads = 4, EncoderLayers = 3, DecoderLayers = 3, DFf = 1024, Dropout = 0.1, MaxLength = 256,
    };

    /// <summary>The quality recipe on 2 cores: dModel 512, 8 heads, 4+4 layers, dFf 2048.</summary>
    public static TransformerConfig Base(int vocabSize) => new()
    {
        VocabSize = vocabSize, DModel = 512, NumHeads = 8, EncoderLayers = 4, DecoderLayers = 4, DFf = 2048, Dropout = 0.1, MaxLength = 256,
    };

    public int HeadDim => DModel / NumHeads;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first field out of range.</summary>
    public TransformerConfig Validate()
    {
        ValidateVocabulary();
        Require(DModel > 0 && NumHeads > 0 && DModel % NumHeads == 0, $"DModel ({DModel}) must be a positive multiple of NumHeads ({NumHeads})");
        Require(DModel % 2 == 0, $"DModel ({DModel}) must be even (sinusoidal positions)");
        Require(EncoderLayers > 0, $"EncoderLayers = {EncoderLayers} must be > 0");
        Require(DecoderLayers > 0, $"DecoderLayers = {DecoderLayers} must be > 0");
        Require(DFf > 0, $"DFf = {DFf} must be > 0");
        Require(Dropout is >= 0 and < 1, $"Dropout = {Dropout} must be in [0, 1)");
        Require(AttentionDropout is >= 0 and < 1, $"AttentionDropout = {AttentionDropout} must be in [0, 1)");
        Require(MaxLength > 0, $"MaxLength = {MaxLength} must be > 0");
        return this;
    }

    /// <summary>Reads and validates a config saved by <see cref="TranslatorConfig.ToJson"/>.</summary>
    public static TransformerConfig FromJson(string json, string source) => Read<TransformerConfig>(json, source).Validate();
}
