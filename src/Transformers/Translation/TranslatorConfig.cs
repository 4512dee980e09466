using System.Text.Json;
using System.Text.Json.Serialization;

namespace Transformers.Translation;

/// <summary>
/// What the config of every translator holds: the vocabulary's size and special ids, and the JSON it is saved as beside
/// every checkpoint (<see cref="TransformerConfig"/>, <see cref="RecurrentTranslatorConfig"/>).
/// </summary>
public abstract record TranslatorConfig
{
    /// <summary>Size of the shared source/target vocabulary.</summary>
    [JsonPropertyOrder(-1)] public int VocabSize { get; init; }
    /// <summary>Special token ids of the vocabulary.</summary>
    [JsonPropertyOrder(1)] public long PadId { get; init; }
    [JsonPropertyOrder(1)] public long BosId { get; init; } = 1;
    [JsonPropertyOrder(1)] public long EosId { get; init; } = 2;
    [JsonPropertyOrder(1)] public long UnkId { get; init; } = 3;

    /// <summary>Longest source (and target, or decoded output) the model accepts.</summary>
    public abstract int MaxLength { get; init; }
    /// <summary>The architecture the config builds (not saved: the checkpoint names it).</summary>
    [JsonIgnore] public abstract TranslatorArchitecture Architecture { get; }

    /// <summary>The special ids as one record (setting it sets the four ids).</summary>
    [JsonIgnore]
    public SpecialTokens Special
    {
        get => new(PadId, BosId, EosId, UnkId);
        init => (PadId, BosId, EosId, UnkId) = (value.Pad, value.Bos, value.Eos, value.Unk);
    }

    /// <summary>Throws an <see cref="ArgumentException"/> "TypeName: message" unless <paramref name="ok"/>.</summary>
    protected void Require(bool ok, string message)
    {
        if (!ok) throw new ArgumentException($"{GetType().Name}: {message}");
    }

    /// <summary>Checks the vocabulary's size and that every special id lies in it.</summary>
    protected void ValidateVocabulary()
    {
        Require(VocabSize > 0, $"VocabSize = {VocabSize} must be > 0");
        foreach (var (name, id) in new[] { ("PadId", PadId), ("BosId", BosId), ("EosId", EosId), ("UnkId", UnkId) })
            Require(id >= 0 && id < VocabSize, $"{name} = {id} must be in [0, VocabSize {VocabSize})");
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The config as indented JSON (the file config.json of a checkpoint).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, GetType(), Json);

    /// <summary>Reads a config of type <typeparamref name="T"/> from JSON (not yet validated); <paramref name="source"/> names it in errors.</summary>
    protected static T Read<T>(string json, string source) where T : TranslatorConfig =>
        JsonSerializer.Deserialize<T>(json, Json) ?? throw new InvalidDataException($"{source}: empty config");
}
