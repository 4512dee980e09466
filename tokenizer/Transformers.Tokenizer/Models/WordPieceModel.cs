namespace Transformers.Tokenizer.Models;

/// <summary>
/// Token ids with their character offsets [start, end), as <see cref="WordPieceTokenizer.EncodeTo"/> fills it; reuse one
/// (<see cref="Clear"/>) and encoding allocates nothing. The spans are views of the first <see cref="Count"/> tokens.
/// </summary>
public sealed class TokenBuffer
{
    private int[] ids = new int[64];
    private int[] starts = new int[64];
    private int[] ends = new int[64];

    public int Count { get; private set; }
    public ReadOnlySpan<int> Ids => ids.AsSpan(0, Count);
    public ReadOnlySpan<int> Starts => starts.AsSpan(0, Count);
    public ReadOnlySpan<int> Ends => ends.AsSpan(0, Count);

    public void Clear() => Count = 0;

    public void Add(int id, int start, int end)
    {
        int n = Count;
        if (n == ids.Length) Grow();
        ids[n] = id;
        starts[n] = start;
        ends[n] = end;
        Count = n + 1;
    }

    /// <summary>Drops the tokens from <paramref name="count"/> on (a word that turns out unknown is rolled back).</summary>
    internal void Truncate(int count) => Count = Math.Min(Count, count);

    private void Grow()
    {
        int size = ids.Length * 2;
        Array.Resize(ref ids, size);
        Array.Resize(ref starts, size);
        Array.Resize(ref ends, size);
    }
}

/// <summary>
/// WordPiece (Schuster and Nakajima 2012; BERT, Devlin et al. 2019): each word is cut greedily into
/// the longest vocabulary entry from its start, then the longest <c>##</c>-prefixed continuation, and
/// so on. A word with no complete segmentation, or longer than <see cref="MaxInputCharsPerWord"/> code
/// points, becomes one unknown token. Lookups go through span-keyed alternate lookups: no string is
/// built per candidate piece.
/// </summary>
public sealed class WordPieceModel
{
    private readonly Dictionary<string, int> _starts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _continuations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _startLookup;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _continuationLookup;
    private readonly int _longestStart;
    private readonly int _longestContinuation;

    public WordPieceModel(Vocabulary vocabulary, string unknownToken = "[UNK]", string continuingSubwordPrefix = "##",
                          int maxInputCharsPerWord = 100)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInputCharsPerWord, 1);
        ArgumentException.ThrowIfNullOrEmpty(continuingSubwordPrefix);
        Vocabulary = vocabulary;
        ContinuingSubwordPrefix = continuingSubwordPrefix;
        MaxInputCharsPerWord = maxInputCharsPerWord;
        if (!vocabulary.TryGetId(unknownToken, out int unk))
            throw new InvalidDataException($"the vocabulary has no '{unknownToken}' entry (needed as the unknown token)");
        UnknownId = unk;
        for (int id = 0; id < vocabulary.Count; id++)
        {
            string token = vocabulary[id];
            _starts[token] = id;
            _longestStart = Math.Max(_longestStart, token.Length);
            if (token.Length > continuingSubwordPrefix.Length && token.StartsWith(continuingSubwordPrefix, StringComparison.Ordinal))
            {
                string rest = token[continuingSubwordPrefix.Length..];
                _continuations[rest] = id;
                _longestContinuation = Math.Max(_longestContinuation, rest.Length);
            }
        }
        _startLookup = _starts.GetAlternateLookup<ReadOnlySpan<char>>();
        _continuationLookup = _continuations.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public Vocabulary Vocabulary { get; }
    public int UnknownId { get; }
    public string ContinuingSubwordPrefix { get; }
    public int MaxInputCharsPerWord { get; }

    /// <summary>
    /// Appends the pieces of one normalized word. <paramref name="starts"/>/<paramref name="ends"/> give
    /// the original range of each unit of <paramref name="word"/>; a piece spans from its first unit's
    /// start to its last unit's end.
    /// </summary>
    public void Tokenize(ReadOnlySpan<char> word, ReadOnlySpan<int> starts, ReadOnlySpan<int> ends, bool tooLong, TokenBuffer output)
    {
        if (tooLong || (word.Length > MaxInputCharsPerWord && CountCodePoints(word) > MaxInputCharsPerWord))
        {
            output.Add(UnknownId, starts[0], ends[^1]);
            return;
        }
        int first = output.Count;
        int start = 0;
        while (start < word.Length)
        {
            var lookup = start == 0 ? _startLookup : _continuationLookup;
            int end = Math.Min(word.Length, start + (start == 0 ? _longestStart : _longestContinuation));
            int id = -1;
            for (; end > start; end--)
            {
                // Never cut a surrogate pair.
                if (end < word.Length && char.IsLowSurrogate(word[end]) && char.IsHighSurrogate(word[end - 1])) continue;
                if (lookup.TryGetValue(word[start..end], out id)) break;
            }
            if (end == start)
            {
                output.Truncate(first);
                output.Add(UnknownId, starts[0], ends[^1]);
                return;
            }
            output.Add(id, starts[start], ends[end - 1]);
            start = end;
        }
    }

    private static int CountCodePoints(ReadOnlySpan<char> word)
    {
        int n = 0;
        for (int i = 0; i < word.Length; i++)
            if (!(char.IsLowSurrogate(word[i]) && i > 0 && char.IsHighSurrogate(word[i - 1]))) n++;
        return n;
    }
}
