using System.Text.Json.Nodes;
using Transformers.Tokenizer.Models;
using Transformers.Tokenizer.Normalization;

namespace Transformers.Tokenizer.Tests;

/// <summary>
/// <c>tokenizer_config.json</c>: the options round-trip, HF's own files (copied verbatim from the Hub) read as HF reads
/// them, bad values are named, and a saved tokenizer directory encodes as the original.
/// </summary>
public sealed class TokenizerConfigTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "tokconfig-" + Guid.NewGuid().ToString("N"));

    public TokenizerConfigTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    public static TheoryData<string> Presets => ["uncased", "cased", "custom"];

    private static WordPieceOptions Preset(string name) => name switch
    {
        "uncased" => WordPieceOptions.Uncased,
        "cased" => WordPieceOptions.Cased,
        _ => new WordPieceOptions
        {
            Normalizer = new BertNormalizerOptions { CleanText = false, HandleChineseChars = false, Lowercase = true, StripAccents = false },
            UnknownToken = "<unk>", ClassificationToken = "<s>", SeparatorToken = "</s>", PaddingToken = "<pad>", MaskToken = "<mask>",
            ContinuingSubwordPrefix = "@@", MaxInputCharsPerWord = 50, SplitOnSpecialTokens = false,
        },
    };

    [Theory]
    [MemberData(nameof(Presets))]
    public void WriteThenRead_GivesTheSameOptions(string preset)
    {
        var options = Preset(preset);
        var path = Path.Combine(dir, TokenizerConfig.FileName);
        TokenizerConfig.Write(path, options);
        Assert.Equal(options, TokenizerConfig.Read(path));
        Assert.Equal([TokenizerConfig.FileName], Directory.GetFiles(dir).Select(Path.GetFileName));   // no temporary file left
    }

    [Fact]
    public void ReadsHfMiniLmConfig_AsUncased()
    {
        // sentence-transformers/all-MiniLM-L6-v2's tokenizer_config.json as published on the Hub.
        const string hf = """
            {"clean_up_tokenization_spaces": true, "cls_token": "[CLS]", "do_basic_tokenize": true, "do_lower_case": true,
             "mask_token": "[MASK]", "model_max_length": 512, "never_split": null, "pad_token": "[PAD]", "sep_token": "[SEP]",
             "strip_accents": null, "tokenize_chinese_chars": true, "tokenizer_class": "BertTokenizer", "unk_token": "[UNK]"}
            """;
        Assert.Equal(WordPieceOptions.Uncased, TokenizerConfig.FromJson(JsonNode.Parse(hf)!.AsObject(), "minilm"));
    }

    [Fact]
    public void ReadsHfBertBaseCasedConfig_AsCasedWithAccents()
    {
        // bert-base-cased's tokenizer_config.json: only this key; HF's defaults give the rest.
        var options = TokenizerConfig.FromJson(JsonNode.Parse("""{"do_lower_case": false}""")!.AsObject(), "bert-base-cased");
        Assert.Equal(WordPieceOptions.Cased, options);
        Assert.False(options.Normalizer.StripsAccents);
    }

    [Fact]
    public void ReadsSpecialTokensWrittenAsAddedTokenObjects()
    {
        const string hf = """{"unk_token": {"content": "<unk>", "lstrip": false, "normalized": true, "rstrip": false, "single_word": false}}""";
        Assert.Equal("<unk>", TokenizerConfig.FromJson(JsonNode.Parse(hf)!.AsObject(), "t").UnknownToken);
    }

    [Theory]
    [InlineData("""{"do_lower_case": "yes"}""", "\"do_lower_case\" should be true or false")]
    [InlineData("""{"max_input_chars_per_word": 1.5}""", "\"max_input_chars_per_word\" should be an integer")]
    [InlineData("""{"max_input_chars_per_word": 0}""", "MaxInputCharsPerWord")]
    [InlineData("""{"unk_token": 3}""", "\"unk_token\" should be a string")]
    [InlineData("""[1, 2]""", "expected a JSON object")]
    [InlineData("""{"do_lower_case": tru""", "not JSON")]
    public void BadConfig_IsAnErrorNamingTheFileAndTheKey(string json, string expected)
    {
        var path = Path.Combine(dir, TokenizerConfig.FileName);
        File.WriteAllText(path, json);
        var e = Assert.Throws<InvalidDataException>(() => TokenizerConfig.Read(path));
        Assert.StartsWith(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void SavedDirectory_LoadsAsTheSameTokenizer_AndWithoutConfigFallsBack()
    {
        var vocabulary = new Vocabulary(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "été", "ete", "Paris", "paris", "##s"]);
        var cased = WordPieceTokenizer.Create(vocabulary, WordPieceOptions.Cased);
        cased.Save(dir);
        var loaded = WordPieceTokenizer.FromDirectory(dir);
        Assert.Equal(WordPieceOptions.Cased, loaded.Options);
        Assert.Equal(vocabulary.Tokens, loaded.Vocabulary.Tokens);
        Assert.Equal([2, 5, 7, 9, 3], loaded.Encode("été Pariss").Ids);     // cased, accents kept: été, Paris, ##s

        File.Delete(Path.Combine(dir, TokenizerConfig.FileName));
        Assert.Equal([2, 6, 8, 9, 3], WordPieceTokenizer.FromDirectory(dir).Encode("été Pariss").Ids);   // HF's default: uncased
        Assert.Equal(WordPieceOptions.Cased, WordPieceTokenizer.FromDirectory(dir, WordPieceOptions.Cased).Options);
    }

    [Fact]
    public void DirectoryWithoutVocabulary_IsAnErrorNamingIt()
    {
        var e = Assert.Throws<FileNotFoundException>(() => WordPieceTokenizer.FromDirectory(dir));
        Assert.Contains("vocab.txt", e.Message);
    }
}
