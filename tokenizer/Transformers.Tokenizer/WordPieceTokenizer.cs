using System.Buffers;
using Microsoft.ML.Tokenizers;
using Transformers.Tokenizer.Decoding;
using Transformers.Tokenizer.Models;
using Transformers.Tokenizer.Normalization;
using Transformers.Tokenizer.PreTokenization;
using Transformers.Tokenizer.Processing;

namespace Transformers.Tokenizer;

/// <summary>
/// BERT's tokenizer, behaving as HF <c>tokenizers</c>' BertNormalizer + BertPreTokenizer + WordPiece +
/// BertProcessing + WordPiece decoder, and usable wherever Microsoft.ML.Tokenizers'
/// <see cref="Microsoft.ML.Tokenizers.Tokenizer"/> is (there it encodes without special tokens).
/// Thread-safe: scratch buffers are per thread.
/// </summary>
public sealed class WordPieceTokenizer : Microsoft.ML.Tokenizers.Tokenizer
{
    private readonly BertNormalizer _normalizer;
    private readonly WordPieceDecoder _decoder;
    private readonly SearchValues<string>? _specialSearch;
    private readonly (string Token, int Id)[] _specialsLongestFirst;
    private readonly int _wordCapacity;

    [ThreadStatic] private static Scratch? t_scratch;

    private WordPieceTokenizer(Vocabulary vocabulary, WordPieceOptions options)
    {
        options.Validate();
        Options = options;
        Model = new WordPieceModel(vocabulary, options.UnknownToken, options.ContinuingSubwordPrefix, options.MaxInputCharsPerWord);
        _normalizer = BertNormalizer.Get(options.Normalizer);
        // A word of more than 2 * limit units has more than limit code points: no need to keep it.
        _wordCapacity = 2 * options.MaxInputCharsPerWord + 2;
        ClassificationId = RequireId(options.ClassificationToken);
        SeparatorId = RequireId(options.SeparatorToken);
        PaddingId = RequireId(options.PaddingToken);
        MaskId = RequireId(options.MaskToken);
        var specials = options.SpecialTokens.Distinct().Select(t => (Token: t, Id: RequireId(t))).ToArray();
        _specialsLongestFirst = specials.OrderByDescending(s => s.Token.Length).ToArray();
        SpecialTokenIds = specials.Select(s => s.Id).Order().ToArray();
        if (options.SplitOnSpecialTokens) _specialSearch = SearchValues.Create(specials.Select(s => s.Token).ToArray(), StringComparison.Ordinal);
        _decoder = new WordPieceDecoder(Model, specials.Select(s => s.Id));
    }

    /// <summary>A tokenizer over <paramref name="vocabulary"/>; throws <see cref="InvalidDataException"/> if a special token is missing.</summary>
    public static WordPieceTokenizer Create(Vocabulary vocabulary, WordPieceOptions? options = null) =>
        new(vocabulary, options ?? WordPieceOptions.Uncased);

    /// <summary>Loads a <c>vocab.txt</c> file.</summary>
    public static WordPieceTokenizer FromVocabFile(string path, WordPieceOptions? options = null) =>
        Create(Vocabulary.Load(path), options);

    /// <summary>Loads a <c>vocab.txt</c> stream (e.g. an embedded resource); <paramref name="sourceName"/> names it in errors.</summary>
    public static WordPieceTokenizer FromVocabStream(Stream stream, string sourceName, WordPieceOptions? options = null) =>
        Create(Vocabulary.Load(stream, sourceName), options);

    /// <summary>
    /// Loads a tokenizer directory as HF's <c>BertTokenizer.from_pretrained</c> does: <c>vocab.txt</c> and, if present,
    /// <c>tokenizer_config.json</c> (<see cref="TokenizerConfig"/>); without that file the options are
    /// <paramref name="fallback"/> (HF's default, uncased, when not given).
    /// </summary>
    public static WordPieceTokenizer FromDirectory(string directory, WordPieceOptions? fallback = null)
    {
        string vocabPath = Path.Combine(directory, "vocab.txt");
        if (!File.Exists(vocabPath)) throw new FileNotFoundException($"{directory} has no vocab.txt", vocabPath);
        string configPath = Path.Combine(directory, TokenizerConfig.FileName);
        var options = File.Exists(configPath) ? TokenizerConfig.Read(configPath) : fallback ?? WordPieceOptions.Uncased;
        return Create(Vocabulary.Load(vocabPath), options);
    }

    /// <summary>Writes <c>vocab.txt</c> and <c>tokenizer_config.json</c> into <paramref name="directory"/> (created if needed), which <see cref="FromDirectory"/> and HF read back.</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        Vocabulary.Save(Path.Combine(directory, "vocab.txt"));
        TokenizerConfig.Write(Path.Combine(directory, TokenizerConfig.FileName), Options);
    }

    public WordPieceOptions Options { get; }
    public WordPieceModel Model { get; }
    public Vocabulary Vocabulary => Model.Vocabulary;

    /// <summary>Ids of the special tokens ([CLS], [SEP], [PAD], ...), which <see cref="Decode"/> can skip.</summary>
    public IReadOnlyList<int> SpecialTokenIds { get; }
    public int ClassificationId { get; }
    public int SeparatorId { get; }
    public int PaddingId { get; }
    public int MaskId { get; }
    public int UnknownId => Model.UnknownId;

    /// <summary>The normalized text, as HF's BertNormalizer produces it.</summary>
    public string Normalize(string text) => _normalizer.Normalize(text);

    /// <summary>
    /// Appends the tokens of <paramref name="text"/> (no [CLS]/[SEP]) to <paramref name="output"/>, with
    /// offsets into <paramref name="text"/> plus <paramref name="offsetBase"/>. The allocation-free core
    /// every other method uses.
    /// </summary>
    public void EncodeTo(ReadOnlySpan<char> text, TokenBuffer output, int offsetBase = 0)
    {
        var scratch = GetScratch();
        var sink = new ModelSink(Model, output);
        if (_specialSearch is null)
        {
            scratch.PreTokenizer.Split(text, offsetBase, ref sink);
            return;
        }
        int done = 0;
        while (done < text.Length)
        {
            int hit = text[done..].IndexOfAny(_specialSearch);
            if (hit < 0) break;
            hit += done;
            scratch.PreTokenizer.Split(text[done..hit], offsetBase + done, ref sink);
            foreach (var (token, id) in _specialsLongestFirst)
            {
                if (!text[hit..].StartsWith(token, StringComparison.Ordinal)) continue;
                output.Add(id, offsetBase + hit, offsetBase + hit + token.Length);
                done = hit + token.Length;
                break;
            }
        }
        scratch.PreTokenizer.Split(text[done..], offsetBase + done, ref sink);
    }

    /// <summary>
    /// Writes the ids of <c>[CLS] text [SEP]</c> (or just the text's when <paramref name="addSpecialTokens"/>
    /// is false) into <paramref name="destination"/>, truncating to fit; returns how many were written.
    /// </summary>
    public int EncodeToIds(ReadOnlySpan<char> text, Span<int> destination, bool addSpecialTokens = true)
    {
        var buffer = GetScratch().Tokens;
        buffer.Clear();
        EncodeTo(text, buffer);
        int reserved = addSpecialTokens ? 2 : 0;
        if (destination.Length < reserved) throw new ArgumentException($"destination holds {destination.Length} ids; at least {reserved} are needed", nameof(destination));
        int n = Math.Min(buffer.Count, destination.Length - reserved);
        int at = 0;
        if (addSpecialTokens) destination[at++] = ClassificationId;
        buffer.Ids[..n].CopyTo(destination[at..]);
        at += n;
        if (addSpecialTokens) destination[at++] = SeparatorId;
        return at;
    }

    /// <summary>Encodes a text, or a pair of texts, as BERT input.</summary>
    public BertEncoding Encode(string text, string? pair = null, BertEncodeOptions? options = null)
    {
        options ??= BertEncodeOptions.Default;
        var first = new TokenBuffer();
        EncodeTo(text, first);
        TokenBuffer? second = null;
        if (pair is not null)
        {
            second = new TokenBuffer();
            EncodeTo(pair, second);
        }
        return BertPostProcessor.Build(this, first, second, options, options.Padding == Padding.ToMaxLength ? options.MaxLength : null);
    }

    /// <summary>Encodes many texts on all cores; with <see cref="Padding.ToLongest"/> all come out the same length.</summary>
    public BertEncoding[] EncodeBatch(IReadOnlyList<string> texts, BertEncodeOptions? options = null)
    {
        options ??= BertEncodeOptions.Default;
        var unpadded = options with { Padding = Padding.None };
        var result = new BertEncoding[texts.Count];
        Parallel.For(0, texts.Count, i => result[i] = Encode(texts[i], null, unpadded));
        int? padTo = options.Padding switch
        {
            Padding.ToMaxLength => options.MaxLength,
            Padding.ToLongest => result.Length == 0 ? 0 : result.Max(e => e.Length),
            _ => null,
        };
        if (padTo is { } length)
            for (int i = 0; i < result.Length; i++) result[i] = BertPostProcessor.Pad(result[i], length, PaddingId);
        return result;
    }

    /// <summary>Ids back to text (HF's WordPiece decoder with cleanup); special tokens kept or skipped.</summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens) => _decoder.Decode(ids, skipSpecialTokens);

    /// <summary>The token string of an id.</summary>
    public string IdToToken(int id) => Vocabulary[id];

    // ---- Microsoft.ML.Tokenizers.Tokenizer ----

    protected override EncodeResults<EncodedToken> EncodeToTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        var span = text is null ? textSpan : text.AsSpan();
        var buffer = new TokenBuffer();
        EncodeTo(span, buffer);
        int count = Math.Min(buffer.Count, settings.MaxTokenCount);
        var tokens = new EncodedToken[count];
        for (int i = 0; i < count; i++)
            tokens[i] = new EncodedToken(buffer.Ids[i], Vocabulary[buffer.Ids[i]], new Range(buffer.Starts[i], buffer.Ends[i]));
        return new EncodeResults<EncodedToken> { Tokens = tokens, NormalizedText = null, CharsConsumed = Consumed(buffer, count, span.Length) };
    }

    protected override EncodeResults<int> EncodeToIds(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        var span = text is null ? textSpan : text.AsSpan();
        var buffer = new TokenBuffer();
        EncodeTo(span, buffer);
        int count = Math.Min(buffer.Count, settings.MaxTokenCount);
        return new EncodeResults<int> { Tokens = buffer.Ids[..count].ToArray(), NormalizedText = null, CharsConsumed = Consumed(buffer, count, span.Length) };
    }

    protected override int CountTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        var buffer = GetScratch().Tokens;
        buffer.Clear();
        EncodeTo(text is null ? textSpan : text.AsSpan(), buffer);
        return Math.Min(buffer.Count, settings.MaxTokenCount);
    }

    /// <summary>Decodes keeping special tokens (use <see cref="Decode(IEnumerable{int}, bool)"/> to skip them).</summary>
    public override string Decode(IEnumerable<int> ids) => _decoder.Decode(ids, skipSpecialTokens: false);

    public override OperationStatus Decode(IEnumerable<int> ids, Span<char> destination, out int idsConsumed, out int charsWritten)
    {
        // The WordPiece decoder's output for a prefix of ids is a prefix of its output for all of them,
        // so decoding id by id and stopping when the next one no longer fits is exact.
        var list = ids as IReadOnlyList<int> ?? ids.ToList();
        string all = _decoder.Decode(list, skipSpecialTokens: false);
        if (all.Length <= destination.Length)
        {
            all.AsSpan().CopyTo(destination);
            idsConsumed = list.Count;
            charsWritten = all.Length;
            return OperationStatus.Done;
        }
        idsConsumed = 0;
        charsWritten = 0;
        for (int i = 1; i <= list.Count; i++)
        {
            string text = _decoder.Decode(list.Take(i), skipSpecialTokens: false);
            if (text.Length > destination.Length) return OperationStatus.DestinationTooSmall;
            text.AsSpan(charsWritten).CopyTo(destination[charsWritten..]);
            charsWritten = text.Length;
            idsConsumed = i;
        }
        return OperationStatus.Done;
    }

    private static int Consumed(TokenBuffer buffer, int count, int textLength) =>
        count == buffer.Count ? textLength : count == 0 ? 0 : buffer.Ends[count - 1];

    private int RequireId(string token) => Model.Vocabulary.TryGetId(token, out int id)
        ? id
        : throw new InvalidDataException($"the vocabulary has no '{token}' entry (a special token of these options)");

    private Scratch GetScratch()
    {
        var s = t_scratch;
        if (s is null || s.Owner != this) t_scratch = s = new Scratch(this);
        return s;
    }

    private sealed class Scratch(WordPieceTokenizer owner)
    {
        public readonly WordPieceTokenizer Owner = owner;
        public readonly BertPreTokenizer PreTokenizer = new(owner._normalizer, owner._wordCapacity);
        public readonly TokenBuffer Tokens = new();
    }

    private readonly struct ModelSink(WordPieceModel model, TokenBuffer output) : IWordSink
    {
        public void OnWord(ReadOnlySpan<char> chars, ReadOnlySpan<int> starts, ReadOnlySpan<int> ends, bool tooLong) =>
            model.Tokenize(chars, starts, ends, tooLong, output);
    }
}
