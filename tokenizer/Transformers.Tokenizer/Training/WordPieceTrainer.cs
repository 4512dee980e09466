using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;
using Transformers.Tokenizer.Models;
using Transformers.Tokenizer.Normalization;
using Transformers.Tokenizer.PreTokenization;

namespace Transformers.Tokenizer.Training;

/// <summary>Options of <see cref="WordPieceTrainer"/>.</summary>
public sealed record WordPieceTrainerOptions
{
    /// <summary>Target size of the vocabulary, special tokens included.</summary>
    public int VocabSize { get; init; } = 30000;

    /// <summary>A pair seen fewer times than this is never merged.</summary>
    public int MinFrequency { get; init; } = 2;

    /// <summary>Keep only this many distinct characters (the most frequent; ties by code point); others are dropped from words. <c>null</c>: all.</summary>
    public int? LimitAlphabet { get; init; } = 1000;

    /// <summary>Normalization, special tokens, continuation prefix and word-length limit of the tokenizer the vocabulary is for.</summary>
    public WordPieceOptions Tokenizer { get; init; } = WordPieceOptions.Uncased;

    /// <summary>Threads used to count words (the result does not depend on it).</summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Receives progress from the counting and merging phases.</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }
}

/// <summary>Progress of a phase: <see cref="Done"/> out of <see cref="Total"/> (bytes when counting, merges when merging).</summary>
public readonly record struct TrainingProgress(string Phase, long Done, long Total);

/// <summary>What training produced and saw.</summary>
public sealed record TrainingResult(Vocabulary Vocabulary, long Bytes, long Words, int DistinctWords, int AlphabetSize,
                                    int Merges, int InvalidUtf8Sequences);

/// <summary>
/// Trains a WordPiece vocabulary the way HF <c>tokenizers</c>' WordPieceTrainer does: it runs BPE
/// (Sennrich et al. 2016) over words whose non-initial characters carry the <c>##</c> prefix, and the
/// BPE vocabulary becomes the WordPiece vocabulary. It does NOT score merges by likelihood as Google's
/// original WordPiece does: each step merges the most frequent adjacent pair.
/// <para>
/// Steps: (1) normalize and pre-tokenize exactly as the tokenizer will, count words (in parallel; counts
/// are sums, so the thread count cannot change them); words longer than the tokenizer's word limit are
/// skipped (they could only encode as [UNK]). (2) Alphabet: the characters, most frequent first, capped by
/// <see cref="WordPieceTrainerOptions.LimitAlphabet"/>. (3) Initial vocabulary: special tokens, then
/// each alphabet character in code-point order, then its <c>##</c> form (when it occurs inside words) in
/// code-point order. (4) Repeatedly merge the pair with the highest count until the vocabulary is full
/// or the best count is below <see cref="WordPieceTrainerOptions.MinFrequency"/>. Tie-break: the pair
/// whose left token, then right token, is smaller in ordinal string order. A merge yields left + right
/// without its <c>##</c>; a merge yielding an existing token reuses it.
/// </para>
/// Same inputs and options give the same vocab.txt byte for byte, whatever the thread count.
/// </summary>
public sealed class WordPieceTrainer
{
    private readonly WordPieceTrainerOptions _options;

    public WordPieceTrainer(WordPieceTrainerOptions options)
    {
        options.Tokenizer.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.VocabSize, 1, nameof(options.VocabSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MinFrequency, 1, nameof(options.MinFrequency));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxDegreeOfParallelism, 1, nameof(options.MaxDegreeOfParallelism));
        if (options.LimitAlphabet is < 1) throw new ArgumentOutOfRangeException(nameof(options), "LimitAlphabet must be at least 1");
        _options = options;
    }

    /// <summary>Trains on text files (UTF-8).</summary>
    public TrainingResult TrainFromFiles(IEnumerable<string> paths)
    {
        var files = paths.ToArray();
        if (files.Length == 0) throw new ArgumentException("no input files");
        foreach (string f in files)
            if (!File.Exists(f)) throw new FileNotFoundException($"input file not found: {f}", f);
        long total = files.Sum(f => new FileInfo(f).Length);
        return Train(files.Select(f => (Func<Stream>)(() => File.OpenRead(f))), total);
    }

    /// <summary>Trains on UTF-8 streams, opened one after the other; <paramref name="totalBytes"/> only scales progress.</summary>
    public TrainingResult Train(IEnumerable<Func<Stream>> sources, long totalBytes = 0)
    {
        var reader = new TextChunkReader(BertNormalizer.Get(_options.Tokenizer.Normalizer));
        var progress = _options.Progress;

        IEnumerable<string> Chunks()
        {
            foreach (var open in sources)
            {
                using var stream = open();
                foreach (string chunk in reader.ReadChunks(stream))
                {
                    yield return chunk;
                    progress?.Report(new TrainingProgress("counting", reader.BytesRead, Math.Max(totalBytes, reader.BytesRead)));
                }
            }
        }

        var counts = CountWords(Chunks());
        return Merge(counts, reader.BytesRead, reader.InvalidSequences);
    }

    /// <summary>
    /// Trains on in-memory texts (e.g. the sentences of a training split); each text ends a word. Small
    /// texts are joined with '\n' into chunks of about 64K characters for the counting threads.
    /// </summary>
    public TrainingResult Train(IEnumerable<string> texts)
    {
        long bytes = 0;

        IEnumerable<string> Chunks()
        {
            var batch = new StringBuilder();
            foreach (string text in texts)
            {
                bytes += Encoding.UTF8.GetByteCount(text) + 1;
                batch.Append(text).Append('\n');
                if (batch.Length < 1 << 16) continue;
                yield return batch.ToString();
                batch.Clear();
            }
            if (batch.Length > 0) yield return batch.ToString();
        }

        var counts = CountWords(Chunks());
        return Merge(counts, bytes, invalidUtf8: 0);
    }

    // ---- (1) word counts ----

    private Dictionary<string, long> CountWords(IEnumerable<string> chunks)
    {
        var normalizer = BertNormalizer.Get(_options.Tokenizer.Normalizer);
        int capacity = 2 * _options.Tokenizer.MaxInputCharsPerWord + 2;
        int maxChars = _options.Tokenizer.MaxInputCharsPerWord;
        var merged = new Dictionary<string, long>(StringComparer.Ordinal);

        try
        {
            CountInParallel();
        }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            // Report the reader's or counter's own exception (e.g. an IOException naming the file).
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        return merged;

        void CountInParallel() => Parallel.ForEach(
            Partitioner.Create(chunks, EnumerablePartitionerOptions.NoBuffering),
            new ParallelOptions { MaxDegreeOfParallelism = _options.MaxDegreeOfParallelism },
            () => new WordCounter(new BertPreTokenizer(normalizer, capacity), maxChars),
            (chunk, _, counter) =>
            {
                counter.Add(chunk);
                return counter;
            },
            counter =>
            {
                lock (merged)
                    foreach (var (word, n) in counter.Counts)
                        CollectionsMarshal.GetValueRefOrAddDefault(merged, word, out _) += n;
            });
    }

    private sealed class WordCounter(BertPreTokenizer preTokenizer, int maxChars)
    {
        public readonly Dictionary<string, long> Counts = new(StringComparer.Ordinal);

        public void Add(string chunk)
        {
            var sink = new Sink(Counts.GetAlternateLookup<ReadOnlySpan<char>>(), maxChars);
            preTokenizer.Split(chunk, 0, ref sink);
        }

        private readonly struct Sink(Dictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> counts, int maxChars) : IWordSink
        {
            public void OnWord(ReadOnlySpan<char> chars, ReadOnlySpan<int> starts, ReadOnlySpan<int> ends, bool tooLong)
            {
                if (tooLong || (chars.Length > maxChars && Encoding.UTF32.GetByteCount(chars) / 4 > maxChars)) return;
                CollectionsMarshal.GetValueRefOrAddDefault(counts, chars, out _)++;
            }
        }
    }

    // ---- (2)-(4) alphabet and merges ----

    private TrainingResult Merge(Dictionary<string, long> counts, long bytes, int invalidUtf8)
    {
        var words = counts.Keys.Order(StringComparer.Ordinal).ToArray();
        var freq = words.Select(w => counts[w]).ToArray();
        var alphabet = Alphabet(words, freq);
        var inAlphabet = alphabet.ToHashSet();
        var tokens = InitialVocabulary(words, alphabet, inAlphabet);
        var merger = new PairMerger(Symbols(words, inAlphabet, tokens), freq, tokens, _options.Tokenizer.ContinuingSubwordPrefix);
        int merges = merger.Run(_options.VocabSize, _options.MinFrequency, _options.Progress);
        return new TrainingResult(new Vocabulary(tokens.Tokens), bytes, freq.Sum(), words.Length, alphabet.Length, merges, invalidUtf8);
    }

    /// <summary>(2) The characters kept: the <see cref="WordPieceTrainerOptions.LimitAlphabet"/> most frequent (ties: lower code point), in code point order.</summary>
    private int[] Alphabet(string[] words, long[] freq)
    {
        var charCounts = new Dictionary<int, long>();
        for (int w = 0; w < words.Length; w++)
            foreach (var r in words[w].EnumerateRunes())
                CollectionsMarshal.GetValueRefOrAddDefault(charCounts, r.Value, out _) += freq[w];
        return charCounts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key)
            .Take(_options.LimitAlphabet ?? int.MaxValue).Select(kv => kv.Key).Order().ToArray();
    }

    /// <summary>(3) The special tokens, every character of the alphabet, then the ## form of each that continues some word.</summary>
    private TokenTable InitialVocabulary(string[] words, int[] alphabet, HashSet<int> inAlphabet)
    {
        var o = _options;
        string prefix = o.Tokenizer.ContinuingSubwordPrefix;
        var tokens = new TokenTable();
        var specials = o.Tokenizer.SpecialTokens.Distinct().ToList();
        foreach (string special in specials) tokens.Add(special);
        var continuationUsed = new HashSet<int>();
        foreach (string word in words)
        {
            bool first = true;
            foreach (var r in word.EnumerateRunes())
            {
                if (!first && inAlphabet.Contains(r.Value)) continuationUsed.Add(r.Value);
                first = false;
            }
        }
        foreach (int c in alphabet) tokens.Add(char.ConvertFromUtf32(c));
        foreach (int c in alphabet.Where(continuationUsed.Contains)) tokens.Add(prefix + char.ConvertFromUtf32(c));
        if (tokens.Count > o.VocabSize)
            throw new ArgumentException(
                $"vocabulary size {o.VocabSize} is smaller than the {specials.Count} special tokens plus " +
                $"the {tokens.Count - specials.Count} alphabet tokens (characters and their ## forms) " +
                "(raise the size or lower the alphabet limit)");
        return tokens;
    }

    /// <summary>Each word as the ids of its characters, the first bare and the rest in ## form; characters outside the alphabet are dropped.</summary>
    private int[][] Symbols(string[] words, HashSet<int> inAlphabet, TokenTable tokens)
    {
        string prefix = _options.Tokenizer.ContinuingSubwordPrefix;
        var symbols = new int[words.Length][];
        var list = new List<int>();
        for (int w = 0; w < words.Length; w++)
        {
            list.Clear();
            foreach (var r in words[w].EnumerateRunes())
            {
                if (!inAlphabet.Contains(r.Value)) continue;
                string s = char.ConvertFromUtf32(r.Value);
                list.Add(tokens.Ids[list.Count == 0 ? s : prefix + s]);
            }
            symbols[w] = list.ToArray();
        }
        return symbols;
    }

    /// <summary>Tokens in id order, and the id of each.</summary>
    private sealed class TokenTable
    {
        public readonly List<string> Tokens = [];
        public readonly Dictionary<string, int> Ids = new(StringComparer.Ordinal);

        public int Count => Tokens.Count;
        public string this[int id] => Tokens[id];

        /// <summary>The token's id, added at the end if new.</summary>
        public int Add(string token)
        {
            if (Ids.TryGetValue(token, out int id)) return id;
            Ids[token] = Tokens.Count;
            Tokens.Add(token);
            return Tokens.Count - 1;
        }
    }

    /// <summary>
    /// (4) BPE over the words' symbols, as HF's WordPiece trainer: merge the most frequent adjacent pair (ties: the
    /// ordinally smaller left token, then right token) into a new token, until the vocabulary is full or the best pair
    /// is rarer than the minimum frequency. Pair counts are kept incrementally: a merge visits only the words that hold
    /// the pair, and the queue holds (pair, count) entries that are dropped as stale when the count has changed since.
    /// </summary>
    private sealed class PairMerger
    {
        private readonly int[][] symbols;                  // per word: token ids, the first lengths[w] of them current
        private readonly int[] lengths;
        private readonly long[] freq;                      // per word: occurrences in the corpus
        private readonly TokenTable tokens;
        private readonly string prefix;
        private readonly Dictionary<long, long> pairCounts = new();
        private readonly Dictionary<long, HashSet<int>> where = new();   // pair -> words that held it at some point
        private readonly HashSet<long> changed = new();   // pairs whose count rose during one merge
        private readonly PriorityQueue<long, (long Count, string Left, string Right)> queue = new(Comparer<(long Count, string Left, string Right)>.Create(
            (x, y) => x.Count != y.Count ? y.Count.CompareTo(x.Count)
                : string.CompareOrdinal(x.Left, y.Left) is var c and not 0 ? c
                : string.CompareOrdinal(x.Right, y.Right)));

        public PairMerger(int[][] symbols, long[] freq, TokenTable tokens, string prefix)
        {
            this.symbols = symbols;
            this.freq = freq;
            this.tokens = tokens;
            this.prefix = prefix;
            lengths = symbols.Select(s => s.Length).ToArray();
            for (int w = 0; w < symbols.Length; w++)
                for (int i = 0; i + 1 < lengths[w]; i++)
                {
                    long key = Key(symbols[w][i], symbols[w][i + 1]);
                    CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, key, out _) += freq[w];
                    (CollectionsMarshal.GetValueRefOrAddDefault(where, key, out _) ??= []).Add(w);
                }
            foreach (var (key, n) in pairCounts) Enqueue(key, n);
        }

        /// <summary>Merges until the vocabulary has <paramref name="vocabSize"/> tokens or no pair is frequent enough; returns the merges made.</summary>
        public int Run(int vocabSize, int minFrequency, IProgress<TrainingProgress>? progress)
        {
            int merges = 0, target = vocabSize - tokens.Count;
            while (tokens.Count < vocabSize && queue.TryDequeue(out long pair, out var priority))
            {
                long current = pairCounts.GetValueOrDefault(pair);
                if (current != priority.Count)                                     // stale: queue it again with its count now
                {
                    if (current > 0) queue.Enqueue(pair, (current, priority.Left, priority.Right));
                    continue;
                }
                if (current < minFrequency) break;
                string right = tokens[Right(pair)];
                int id = tokens.Add(tokens[Left(pair)] + (right.StartsWith(prefix, StringComparison.Ordinal) ? right[prefix.Length..] : right));
                merges++;
                if (merges % 256 == 0) progress?.Report(new TrainingProgress("merging", merges, target));
                Replace(pair, id);
            }
            progress?.Report(new TrainingProgress("merging", merges, merges));
            return merges;
        }

        /// <summary>Replaces each (a, b) by <paramref name="id"/> in the words that hold the pair, recounting the pairs around it; queues the new pairs.</summary>
        private void Replace(long pair, int id)
        {
            int a = Left(pair), b = Right(pair);
            changed.Clear();
            foreach (int w in where[pair])
            {
                var s = symbols[w];
                int n = lengths[w];
                long f = freq[w];
                for (int i = 0; i + 1 < n; i++) Bump(Key(s[i], s[i + 1]), -f, w);
                int m = 0;
                for (int i = 0; i < n; i++)
                {
                    if (i + 1 < n && s[i] == a && s[i + 1] == b)
                    {
                        s[m++] = id;
                        i++;
                    }
                    else s[m++] = s[i];
                }
                lengths[w] = m;
                for (int i = 0; i + 1 < m; i++) Bump(Key(s[i], s[i + 1]), f, w);
            }
            pairCounts.Remove(pair);
            foreach (long key in changed)
                if (pairCounts.GetValueOrDefault(key) is var n and > 0 && (Left(key) == id || Right(key) == id))
                    Enqueue(key, n);
        }

        private void Bump(long key, long delta, int w)
        {
            ref long slot = ref CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, key, out _);
            slot += delta;
            if (delta > 0)
            {
                (CollectionsMarshal.GetValueRefOrAddDefault(where, key, out _) ??= []).Add(w);
                changed.Add(key);
            }
        }

        private void Enqueue(long key, long count) => queue.Enqueue(key, (count, tokens[Left(key)], tokens[Right(key)]));
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;
    private static int Left(long key) => (int)(key >> 32);
    private static int Right(long key) => (int)key;
}
