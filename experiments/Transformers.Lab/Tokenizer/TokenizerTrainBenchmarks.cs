using BenchmarkDotNet.Attributes;
using Transformers.Tokenizer.Training;

namespace Transformers.Lab.Tokenizer;

/// <summary>
/// Vocabulary training throughput on ~10.6 MB of text (the 1.5 MB corpus seven times), for an 8k and a
/// 30k vocabulary, on all cores. MB/s = 10.6 / time per op.
/// </summary>
[MemoryDiagnoser]
public class TokenizerTrainBenchmarks
{
    private byte[] _text = [];

    [Params(8000, 30000)]
    public int VocabSize;

    [GlobalSetup]
    public void Setup()
    {
        string corpus = TokenizerBenchData.Corpus();
        _text = System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(corpus, 7)));
        Console.WriteLine($"// {_text.Length} bytes per op");
    }

    [Benchmark(Description = "WordPieceTrainer, all cores")]
    public int Train() =>
        new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = VocabSize })
            .Train([() => new MemoryStream(_text)], _text.Length).Vocabulary.Count;
}
