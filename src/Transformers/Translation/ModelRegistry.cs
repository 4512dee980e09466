namespace Transformers.Translation;

/// <summary>Builds a translator from the architecture name and config JSON stored in a checkpoint.</summary>
public static class ModelRegistry
{
    private static readonly Dictionary<string, Func<string, string, Seq2SeqModel>> Factories = new(StringComparer.Ordinal)
    {
        ["transformer"] = (json, source) => new TransformerTranslator(TransformerConfig.FromJson(json, source)),
        ["rnn"] = (json, source) => new RecurrentTranslator(RecurrentTranslatorConfig.FromJson(json, source, "rnn")),
        ["lstm"] = (json, source) => new RecurrentTranslator(RecurrentTranslatorConfig.FromJson(json, source, "lstm")),
        ["gru"] = (json, source) => new RecurrentTranslator(RecurrentTranslatorConfig.FromJson(json, source, "gru")),
    };

    /// <summary>Adds an architecture (the recurrent translators register theirs).</summary>
    public static void Register(string architecture, Func<string, string, Seq2SeqModel> factory) => Factories[architecture] = factory;

    public static IReadOnlyCollection<string> Architectures => Factories.Keys;

    /// <summary>A fresh model of <paramref name="architecture"/> from its config JSON; <paramref name="source"/> names the file in errors.</summary>
    public static Seq2SeqModel Create(string architecture, string configJson, string source)
    {
        if (!Factories.TryGetValue(architecture, out var factory))
            throw new InvalidDataException($"{source}: unknown architecture '{architecture}' (known: {string.Join(", ", Factories.Keys)})");
        try
        {
            return factory(configJson, source);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException)
        {
            throw new InvalidDataException($"{source}: invalid {architecture} config: {e.Message}", e);
        }
    }
}
