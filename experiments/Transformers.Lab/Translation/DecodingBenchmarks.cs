using BenchmarkDotNet.Attributes;
using Transformers.Translation;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Transformers.Lab.Translation;

/// <summary>
/// Incremental decoding with the key/value cache against recomputing the whole decoder on the growing prefix at every
/// step, 64 output tokens, TransformerConfig.Small (vocabulary 8000), source of 32 tokens, 2 threads.
/// Ratio = time / cached time.
/// </summary>
public class DecodingBenchmarks
{
    [Params(1, 16)] public int Batch;
    private const int Steps = 64;
    private TransformerTranslator model = null!;
    private Tensor src = null!, mask = null!;

    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.EnsureLoaded();
        set_num_threads(2);
        manual_seed(0);
        model = new TransformerTranslator(TransformerConfig.Small(8000));
        model.eval();
        src = randint(4, 8000, [Batch, 32], dtype: ScalarType.Int64);
        mask = ones(Batch, 32, ScalarType.Bool);
    }

    [Benchmark(Baseline = true)]
    public long Cached()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var state = model.StartDecoding(model.Encode(src, mask));
        var prev = full(Batch, model.Special.Bos, ScalarType.Int64);
        for (int i = 0; i < Steps; i++)
        {
            using var step = NewDisposeScope();
            prev = model.DecodeStep(prev, state).argmax(-1).MoveToOuterDisposeScope();
        }
        return prev[0].item<long>();
    }

    [Benchmark]
    public long Recompute()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var prefix = full(Batch, 1, model.Special.Bos, ScalarType.Int64);
        for (int i = 0; i < Steps; i++)
        {
            using var step = NewDisposeScope();
            var next = model.Forward(src, mask, prefix)[.., -1].argmax(-1, keepdim: true);
            prefix = cat([prefix, next], 1).MoveToOuterDisposeScope();
        }
        return prefix[0, -1].item<long>();
    }
}
