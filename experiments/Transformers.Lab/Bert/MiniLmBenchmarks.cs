using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Transformers.Bert;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Transformers.Lab.Bert;

/// <summary>
/// all-MiniLM-L6-v2 forward (last hidden state), our TorchSharp BERT against ONNX Runtime running the same ONNX file,
/// both on 2 threads, same token ids. The ratio column is ours / ORT time (below 1.0 = we are faster).
/// sequences/s = Batch / Mean.
/// </summary>
[MemoryDiagnoser]
public class MiniLmBenchmarks
{
    [Params(1, 32)] public int Batch;
    private int SeqLen => Batch == 1 ? 16 : 128;

    private BertModel model = null!;
    private InferenceSession session = null!;
    private Tensor ids = null!, mask = null!;
    private List<NamedOnnxValue> ortInputs = null!;

    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.EnsureLoaded();
        set_num_threads(2);
        model = BertWeights.LoadMiniLm();
        session = new InferenceSession(MiniLm.ReadResource("model.onnx"), new SessionOptions
        {
            IntraOpNumThreads = 2, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        });
        var rng = new Random(1);
        var idArr = new long[Batch * SeqLen];
        for (int b = 0; b < Batch; b++)
            for (int t = 0; t < SeqLen; t++)
                idArr[b * SeqLen + t] = t == 0 ? 101 : t == SeqLen - 1 ? 102 : rng.Next(1996, 29000);
        var ones_ = Enumerable.Repeat(1L, idArr.Length).ToArray();
        ids = tensor(idArr).view(Batch, SeqLen);
        mask = ones(Batch, SeqLen, ScalarType.Int64);
        int[] dims = [Batch, SeqLen];
        ortInputs =
        [
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(idArr, dims)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(ones_, dims)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[idArr.Length], dims)),
        ];
    }

    [Benchmark(Baseline = true)]
    public float OnnxRuntime()
    {
        using var r = session.Run(ortInputs, ["last_hidden_state"]);
        return r.First().AsTensor<float>()[0, 0, 0];
    }

    [Benchmark]
    public float Ours()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return model.Forward(ids, mask).LastHiddenState[0, 0, 0].item<float>();
    }

    /// <summary>No padding mask (every token is real here): whether the boolean mask keeps attention off libtorch's fused kernel.</summary>
    [Benchmark]
    public float OursNoMask()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return model.Forward(ids).LastHiddenState[0, 0, 0].item<float>();
    }

    /// <summary>Issue 15's lever "inference mode": no autograd bookkeeping (views, version counters) at all.</summary>
    [Benchmark]
    public float OursInferenceMode()
    {
        using var scope = NewDisposeScope();
        using var _ = inference_mode();
        return model.Forward(ids, mask).LastHiddenState[0, 0, 0].item<float>();
    }

    /// <summary>Issue 15's lever "threads per call size": one intra-op thread for the call (OpenMP's fork/join dominates tiny ops).</summary>
    [Benchmark]
    public float OursOneThread()
    {
        set_num_threads(1);
        try
        {
            using var scope = NewDisposeScope();
            using var _ = inference_mode();
            return model.Forward(ids, mask).LastHiddenState[0, 0, 0].item<float>();
        }
        finally
        {
            set_num_threads(2);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        session.Dispose();
        model.Dispose();
    }
}

/// <summary>
/// The cost of asking for attention probabilities: MiniLM forward with every layer's per-head probabilities
/// (explicit softmax path) against the fused scaled_dot_product_attention path; and one attention call alone.
/// </summary>
[MemoryDiagnoser]
public class AttentionPathBenchmarks
{
    private BertModel model = null!;
    private Tensor ids = null!, mask = null!, q = null!, k = null!, v = null!, padMask = null!;

    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.EnsureLoaded();
        set_num_threads(2);
        manual_seed(0);
        model = BertWeights.LoadMiniLm();
        ids = randint(1996, 29000, [32, 128], dtype: ScalarType.Int64);
        mask = ones(32, 128, ScalarType.Int64);
        q = randn(32, 12, 128, 32); k = randn(32, 12, 128, 32); v = randn(32, 12, 128, 32);
        padMask = ones(32, 1, 1, 128, ScalarType.Bool);
    }

    [Benchmark(Baseline = true)]
    public float SdpaFused() => Run(false);

    [Benchmark]
    public float SdpaWithProbabilities() => Run(true);

    [Benchmark]
    public float MiniLmFused() => Forward(BertOutputs.None);

    [Benchmark]
    public float MiniLmWithProbabilities() => Forward(BertOutputs.Attentions);

    private float Run(bool probs)
    {
        using var scope = NewDisposeScope();
        return Transformers.Attention.ScaledDotProductAttention.Compute(q, k, v, padMask, probs).Output[0, 0, 0, 0].item<float>();
    }

    private float Forward(BertOutputs outputs)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return model.Forward(ids, mask, outputs: outputs).LastHiddenState[0, 0, 0].item<float>();
    }
}
