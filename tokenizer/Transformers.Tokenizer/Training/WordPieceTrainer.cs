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
        var o = _options;
        string prefix = o.Tokenizer.ContinuingSubwordPrefix;
        var words = counts.Keys.Order(StringComparer.Ordinal).ToArray();
        var freq = words.Select(w => counts[w]).ToArray();
        long totalWords = freq.Sum();

        // (2) alphabet
        var charCounts = new Dictionary<int, long>();
        for (int w = 0; w < words.Length; w++)
            foreach (var r in words[w].EnumerateRunes())
                CollectionsMarshal.GetValueRefOrAddDefault(charCounts, r.Value, out _) += freq[w];
        var alphabet = charCounts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key)
            .Take(o.LimitAlphabet ?? int.MaxValue).Select(kv => kv.Key).Order().ToArray();
        var inAlphabet = alphabet.ToHashSet();

        // (3) initial vocabulary
        var tokens = new List<string>();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        int AddToken(string t)
        {
            if (ids.TryGetValue(t, out int id)) return id;
            ids[t] = tokens.Count;
            tokens.Add(t);
            return tokens.Count - 1;
        }
        foreach (string special in o.Tokenizer.SpecialTokens.Distinct()) AddToken(special);
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
        foreach (int c in alphabet) AddToken(char.ConvertFromUtf32(c));
        foreach (int c in alphabet.Where(continuationUsed.Contains)) AddToken(prefix + char.ConvertFromUtf32(c));
        if (tokens.Count > o.VocabSize)
            throw new ArgumentException(
                $"vocabulary size {o.VocabSize} is smaller than the {o.Tokenizer.SpecialTokens.Distinct().Count()} special tokens plus " +
                $"the {tokens.Count - o.Tokenizer.SpecialTokens.Distinct().Count()} alphabet tokens (characters and their ## forms) " +
                "(raise the size or lower the alphabet limit)");

        // Words as symbol sequences (characters outside the alphabet are dropped).
        var symbols = new int[words.Length][];
        var lengths = new int[words.Length];
        for (int w = 0; w < words.Length; w++)
        {
            var list = new List<int>();
            foreach (var r in words[w].EnumerateRunes())
            {
                if (!inAlphabet.Contains(r.Value)) continue;
                string s = char.ConvertFromUtf32(r.Value);
                list.Add(ids[list.Count == 0 ? s : prefix + s]);
            }
            symbols[w] = list.ToArray();
            lengths[w] = list.Count;
        }

        // (4) merges
        var pairCounts = new Dictionary<long, long>();
        var where = new Dictionary<long, HashSet<int>>();
        for (int w = 0; w < words.Length; w++)
            for (int i = 0; i + 1 < lengths[w]; i++)
            {
                long key = Key(symbols[w][i], symbols[w][i + 1]);
                CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, key, out _) += freq[w];
                (CollectionsMarshal.GetValueRefOrAddDefault(where, key, out _) ??= []).Add(w);
            }
        var queue = new PriorityQueue<long, (long Count, string Left, string Right)>(Comparer<(long Count, string Left, string Right)>.Create(
            (x, y) => x.Count != y.Count ? y.Count.CompareTo(x.Count)
                : string.CompareOrdinal(x.Left, y.Left) is var c and not 0 ? c
                : string.CompareOrdinal(x.Right, y.Right)));
        foreach (var (key, n) in pairCounts) queue.Enqueue(key, (n, tokens[Left(key)], tokens[Right(key)]));

        int merges = 0;
        int target = o.VocabSize - tokens.Count;
        var changed = new HashSet<long>(); // pairs whose count rose during one merge
        while (tokens.Count < o.VocabSize && queue.TryDequeue(out long pair, out var priority))
        {
            long current = pairCounts.GetValueOrDefault(pair);
            if (current != priority.Count)
            {
                if (current > 0) queue.Enqueue(pair, (current, priority.Left, priority.Right));
                continue;
            }
            if (current < o.MinFrequency) break;
            int a = Left(pair), b = Right(pair);
            string right = tokens[b];
            string mergedToken = tokens[a] + (right.StartsWith(prefix, StringComparison.Ordinal) ? right[prefix.Length..] : right);
            int id = AddToken(mergedToken);
            merges++;
            if (merges % 256 == 0) o.Progress?.Report(new TrainingProgress("merging", merges, target));

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
                    queue.Enqueue(key, (n, tokens[Left(key)], tokens[Right(key)]));

            void Bump(long key, long delta, int w)
            {
                ref long slot = ref CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, key, out _);
                slot += delta;
                if (delta > 0)
                {
                    (CollectionsMarshal.GetValueRefOrAddDefault(where, key, out _) ??= []).Add(w);
                    changed.Add(key);
                }
            }
        }
        o.Progress?.Report(new TrainingProgress("merging", merges, merges));

        return new TrainingResult(new Vocabulary(tokens), bytes, totalWords, words.Length, alphabet.Length, merges, invalidUtf8);
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;
    private static int Left(long key) => (int)(key >> 32);
    private static int Right(long key) => (int)key;
}
