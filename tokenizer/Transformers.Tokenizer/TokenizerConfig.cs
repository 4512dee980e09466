using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Transformers.Tokenizer.Normalization;

namespace Transformers.Tokenizer;

/// <summary>
/// <see cref="WordPieceOptions"/> as HF's <c>tokenizer_config.json</c>, the file that sits beside <c>vocab.txt</c> in a
/// BERT checkpoint and tells <c>BertTokenizer.from_pretrained</c> how to normalize (<c>do_lower_case</c>,
/// <c>strip_accents</c>, <c>tokenize_chinese_chars</c>) and which special tokens to use. The keys HF's slow tokenizer
/// has no name for are written as its fast tokenizer's <c>tokenizer.json</c> names them (<c>clean_text</c>,
/// <c>continuing_subword_prefix</c>, <c>max_input_chars_per_word</c>); keys this toolkit does not use
/// (<c>model_max_length</c>, <c>added_tokens_decoder</c>, ...) are ignored when reading, as HF ignores ours.
/// </summary>
public static class TokenizerConfig
{
    /// <summary>The file's name in a checkpoint directory.</summary>
    public const string FileName = "tokenizer_config.json";

    /// <summary>Writes <paramref name="options"/> to <paramref name="path"/> (UTF-8, indented, keys sorted as HF writes them), atomically: a temporary file, then a rename.</summary>
    public static void Write(string path, WordPieceOptions options)
    {
        string temp = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            File.WriteAllText(temp, ToJson(options), new UTF8Encoding(false));
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>The JSON text <see cref="Write"/> writes.</summary>
    public static string ToJson(WordPieceOptions options)
    {
        var n = options.Normalizer;
        var json = new JsonObject
        {
            ["clean_text"] = n.CleanText,
            ["cls_token"] = options.ClassificationToken,
            ["continuing_subword_prefix"] = options.ContinuingSubwordPrefix,
            ["do_lower_case"] = n.Lowercase,
            ["mask_token"] = options.MaskToken,
            ["max_input_chars_per_word"] = options.MaxInputCharsPerWord,
            ["pad_token"] = options.PaddingToken,
            ["sep_token"] = options.SeparatorToken,
            ["split_special_tokens"] = !options.SplitOnSpecialTokens,
            ["strip_accents"] = n.StripAccents is { } strip ? JsonValue.Create(strip) : null,
            ["tokenize_chinese_chars"] = n.HandleChineseChars,
            ["tokenizer_class"] = "BertTokenizer",
            ["unk_token"] = options.UnknownToken,
        };
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>
    /// Reads a <c>tokenizer_config.json</c>. A key that is absent takes HF's default (a config without
    /// <c>do_lower_case</c> is uncased, as <c>BertTokenizer</c>'s is); a key of the wrong type is an
    /// <see cref="InvalidDataException"/> naming the file and the key.
    /// </summary>
    public static WordPieceOptions Read(string path)
    {
        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                   ?? throw new InvalidDataException($"{path}: expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not JSON ({e.Message})", e);
        }
        return FromJson(json, path);
    }

    /// <summary>The options a parsed config describes; <paramref name="sourceName"/> names it in errors.</summary>
    public static WordPieceOptions FromJson(JsonObject json, string sourceName)
    {
        var defaults = new WordPieceOptions();
        var normalizer = new BertNormalizerOptions
        {
            CleanText = Get(json, "clean_text", defaults.Normalizer.CleanText, sourceName),
            HandleChineseChars = Get(json, "tokenize_chinese_chars", defaults.Normalizer.HandleChineseChars, sourceName),
            Lowercase = Get(json, "do_lower_case", defaults.Normalizer.Lowercase, sourceName),
            StripAccents = Get<bool?>(json, "strip_accents", null, sourceName),
        };
        var options = new WordPieceOptions
        {
            Normalizer = normalizer,
            UnknownToken = Token(json, "unk_token", defaults.UnknownToken, sourceName),
            ClassificationToken = Token(json, "cls_token", defaults.ClassificationToken, sourceName),
            SeparatorToken = Token(json, "sep_token", defaults.SeparatorToken, sourceName),
            PaddingToken = Token(json, "pad_token", defaults.PaddingToken, sourceName),
            MaskToken = Token(json, "mask_token", defaults.MaskToken, sourceName),
            ContinuingSubwordPrefix = Get(json, "continuing_subword_prefix", defaults.ContinuingSubwordPrefix, sourceName),
            MaxInputCharsPerWord = Get(json, "max_input_chars_per_word", defaults.MaxInputCharsPerWord, sourceName),
            SplitOnSpecialTokens = !Get(json, "split_special_tokens", !defaults.SplitOnSpecialTokens, sourceName),
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{sourceName}: {e.Message}", e);
        }
        return options;
    }

    /// <summary>A value of the expected type, or <paramref name="fallback"/> when the key is absent (or null for a nullable).</summary>
    private static T Get<T>(JsonObject json, string key, T fallback, string sourceName)
    {
        if (!json.TryGetPropertyValue(key, out var node) || node is null) return fallback;
        try
        {
            return node.Deserialize<T>() ?? fallback;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{sourceName}: \"{key}\" should be {Describe(typeof(T))}, not {node.ToJsonString()}", e);
        }
    }

    /// <summary>HF writes a special token either as a string or as an AddedToken object <c>{"content": "[UNK]", ...}</c>.</summary>
    private static string Token(JsonObject json, string key, string fallback, string sourceName) =>
        json.TryGetPropertyValue(key, out var node) && node is JsonObject added
            ? Get(added, "content", fallback, $"{sourceName}: \"{key}\"")
            : Get(json, key, fallback, sourceName);

    private static string Describe(Type t) =>
        t == typeof(bool) || t == typeof(bool?) ? "true or false" : t == typeof(int) ? "an integer" : "a string";
}
