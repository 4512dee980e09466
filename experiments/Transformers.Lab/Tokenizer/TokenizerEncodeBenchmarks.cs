using BenchmarkDotNet.Attributes;
using Transformers.Tokenizer;

namespace Transformers.Lab.Tokenizer;

/// <summary>
/// Encoding throughput on the same ~1.5 MB of English text (36,936 lines, each encoded as [CLS] line [SEP]),
/// ours against FastBertTokenizer and Microsoft.ML.Tokenizers' BertTokenizer, one thread and all cores.
/// Setup checks that ours and FastBertTokenizer produce identical ids on every line (the comparison is
/// only fair with identical output). Tokens per second = <see cref="TokensPerOp"/> / time per op.
/// </summary>
[MemoryDiagnoser]
public class TokenizerEncodeBenchmarks
{
    private string[] _lines = [];
    private WordPieceTokenizer _ours = null!;
    private FastBertTokenizer.BertTokenizer _fast = null!;
    private Microsoft.ML.Tokenizers.BertTokenizer _ml = null!;
    private const int MaxLength = 4096;

    /// <summary>Tokens produced per benchmark op (including [CLS]/[SEP]); printed at setup.</summary>
    public static long TokensPerOp;

    [GlobalSetup]
    public void Setup()
    {
        _lines = TokenizerBenchData.Corpus().Split('\n');
        string vocab = TokenizerBenchData.VocabText();
        _ours = WordPieceTokenizer.FromVocabStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(vocab)), "vocab.txt");
        _fast = new FastBertTokenizer.BertTokenizer();
        _fast.LoadVocabulary(new StringReader(vocab), convertInputToLowercase: true);
        _ml = Microsoft.ML.Tokenizers.BertTokenizer.Create(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(vocab)),
            new Microsoft.ML.Tokenizers.BertOptions { LowerCaseBeforeTokenization = true, RemoveNonSpacingMarks = true });

        var ids = new int[MaxLength];
        var fastIds = new long[MaxLength];
        var mask = new long[MaxLength];
        long tokens = 0;
        foreach (string line in _lines)
        {
            int n = _ours.EncodeToIds(line, ids);
            _fast.Encode(line, fastIds, mask, MaxLength);
            int m = (int)mask.AsSpan().IndexOf(0L) is var z and >= 0 ? z : MaxLength;
            if (n != m) throw new InvalidOperationException($"length differs from FastBertTokenizer on: {line}");
            for (int i = 0; i < n; i++)
                if (ids[i] != fastIds[i]) throw new InvalidOperationException($"ids differ from FastBertTokenizer on: {line}");
            tokens += n;
        }
        TokensPerOp = tokens;
        Console.WriteLine($"// {_lines.Length} lines, {tokens} tokens per op; ours == FastBertTokenizer on every line");
    }

    [Benchmark(Baseline = true, Description = "FastBertTokenizer, 1 thread")]
    public long FastBert1()
    {
        Span<long> ids = stackalloc long[MaxLength];
        Span<long> mask = stackalloc long[MaxLength];
        long sum = 0;
        foreach (string line in _lines) sum += _fast.Encode(line, ids, mask, MaxLength);
        return sum;
    }

    [Benchmark(Description = "Ours, 1 thread")]
    public long Ours1()
    {
        Span<int> ids = stackalloc int[MaxLength];
        long sum = 0;
        foreach (string line in _lines) sum += _ours.EncodeToIds(line, ids);
        return sum;
    }

    [Benchmark(Description = "ML.Tokenizers BertTokenizer, 1 thread")]
    public long Ml1()
    {
        long sum = 0;
        foreach (string line in _lines) sum += _ml.EncodeToIds(line).Count;
        return sum;
    }

    [Benchmark(Description = "FastBertTokenizer, all cores")]
    public long FastBertAll() =>
        AllCores(() => (new long[MaxLength], new long[MaxLength]), (line, b) => _fast.Encode(line, b.Item1, b.Item2, MaxLength));

    [Benchmark(Description = "Ours, all cores")]
    public long OursAll() => AllCores(() => new int[MaxLength], (line, ids) => _ours.EncodeToIds(line, ids));

    /// <summary>Lines in partitions of 512 over all cores, one output buffer per partition.</summary>
    private long AllCores<TBuffer>(Func<TBuffer> newBuffer, Func<string, TBuffer, int> encode)
    {
        long sum = 0;
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(0, _lines.Length, 512), range =>
        {
            var buffer = newBuffer();
            long local = 0;
            for (int i = range.Item1; i < range.Item2; i++) local += encode(_lines[i], buffer);
            Interlocked.Add(ref sum, local);
        });
        return sum;
    }
}
