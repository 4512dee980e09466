using System.Globalization;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Transformers.Bert;
using Transformers.Lab.Runner;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Transformers.Lab.Bert;

/// <summary>
/// Issue 15 item 4: where a MiniLM forward spends its time. Each operation of a layer (hidden 384, 12 heads of 32,
/// feed-forward 1536) is timed alone on tensors of the forward's shapes (median of many calls, no_grad, the given
/// threads), multiplied by how often a forward runs it (6 layers), and set beside the whole forward and ONNX Runtime's
/// on the same ids. The rest (forward minus the operations' sum) is what is not listed: embeddings, input checks,
/// the mask, the pooler, dispose scopes. GFLOP/s of the matrix products say how close each is to the machine's GEMM.
/// Then the same forward written flat, in variants (<see cref="MiniLmFlat"/>).
/// <c>minilm-profile [--threads N] [--out FILE]</c>
/// </summary>
public static class MiniLmProfile
{
    private const int Hidden = 384, Heads = 12, HeadDim = 32, Ffn = 1536, Layers = 6;

    private sealed record Op(string Name, int PerForward, double Flops, Action Run);

    public static int Run(int threads, string? output)
    {
        TorchRuntime.EnsureLoaded();
        set_num_threads(threads);
        var report = new StringBuilder();
        var stamp = MachineStamp.Take(threads);
        report.AppendLine("# Where a MiniLM forward spends its time (issue 15 item 4)").AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"{stamp.Cpu}, {stamp.Cores} cores, {threads} threads; {stamp.DateUtc:yyyy-MM-dd HH:mm} UTC, commit {stamp.Commit}, load {stamp.LoadAverage}.");
        report.AppendLine("Each operation timed alone (median), times the number of calls in one forward; no_grad; ONNX Runtime on the same ids, same threads.").AppendLine();
        using var model = BertWeights.LoadMiniLm();
        using var session = new InferenceSession(MiniLm.ReadResource("model.onnx"), new SessionOptions
        {
            IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        });
        foreach (var (batch, length) in new[] { (1, 16), (32, 128) })
            Profile(model, session, batch, length, report);
        Console.Write(report);
        if (output is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
            File.WriteAllText(output, report.ToString());
        }
        return 0;
    }

    private static void Profile(BertModel model, InferenceSession session, int batch, int length, StringBuilder report)
    {
        manual_seed(1);
        long tokens = batch * length;
        var ids = randint(1996, 29000, [batch, length], dtype: ScalarType.Int64);
        var mask = ones(batch, length, ScalarType.Int64);
        var x = randn(batch, length, Hidden);
        var wide = randn(batch, length, Ffn);
        var q = randn(batch, Heads, length, HeadDim);
        var k = randn(batch, Heads, length, HeadDim);
        var v = randn(batch, Heads, length, HeadDim);
        var boolMask = ones(batch, 1, 1, length, ScalarType.Bool);
        var (w384, b384) = (randn(Hidden, Hidden) * 0.05, randn(Hidden));
        var (wQkv, bQkv) = (randn(3 * Hidden, Hidden) * 0.05, randn(3 * Hidden));
        var (wUp, bUp) = (randn(Ffn, Hidden) * 0.05, randn(Ffn));
        var (wDown, bDown) = (randn(Hidden, Ffn) * 0.05, randn(Hidden));
        var (gamma, beta) = (ones(Hidden), zeros(Hidden));
        double Gemm(long n, long m) => 2.0 * tokens * n * m;
        var ops = new Op[]
        {
            new("Q, K, V, output projections (384 → 384)", 4 * Layers, Gemm(Hidden, Hidden), () => nn.functional.linear(x, w384, b384)),
            new("(instead of Q, K, V: one fused 384 → 1152)", 0, Gemm(Hidden, 3 * Hidden), () => nn.functional.linear(x, wQkv, bQkv)),
            new("(stacking W^Q, W^K, W^V for the fused product)", 0, 0, () => cat([w384, w384, w384], 0)),
            new("split heads (view, transpose)", 3 * Layers, 0, () => x.view(batch, length, Heads, HeadDim).transpose(1, 2)),
            new("scaled dot-product attention, bool mask", Layers, 4.0 * batch * Heads * length * length * HeadDim, () => nn.functional.scaled_dot_product_attention(q, k, v, boolMask)),
            new("(the same without a mask)", 0, 4.0 * batch * Heads * length * length * HeadDim, () => nn.functional.scaled_dot_product_attention(q, k, v)),
            new("(the same as matmul, masked softmax, matmul)", 0, 4.0 * batch * Heads * length * length * HeadDim,
                () => matmul(matmul(q, k.transpose(-2, -1)).mul_(1.0 / Math.Sqrt(HeadDim)).masked_fill(boolMask.logical_not(), double.NegativeInfinity).softmax(-1), v)),
            new("merge heads (transpose, reshape: a copy)", Layers, 0, () => q.transpose(1, 2).reshape(batch, length, Hidden)),
            new("residual add + LayerNorm", 2 * Layers, 0, () => nn.functional.layer_norm(x + x, [Hidden], gamma, beta, 1e-12)),
            new("feed-forward up (384 → 1536)", Layers, Gemm(Hidden, Ffn), () => nn.functional.linear(x, wUp, bUp)),
            new("GELU (exact, erf)", Layers, 0, () => nn.functional.gelu(wide)),
            new("(GELU, tanh approximation)", 0, 0, () => nn.functional.gelu(wide, TorchSharp.Modules.GELU.Approximate.tanh)),
            new("feed-forward down (1536 → 384)", Layers, Gemm(Ffn, Hidden), () => nn.functional.linear(wide, wDown, bDown)),
        };
        int runs = batch == 1 ? 400 : 12, warmup = batch == 1 ? 50 : 3;
        TimingStats Time(Action action) => TimingStats.Measure(() =>
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            action();
        }, warmup, runs);
        var forward = Time(() => model.Forward(ids, mask).LastHiddenState[0, 0, 0].item<float>());
        long[] idArr = ids.data<long>().ToArray();
        int[] dims = [batch, length];
        var ortInputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(idArr, dims)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(Enumerable.Repeat(1L, idArr.Length).ToArray(), dims)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[idArr.Length], dims)),
        };
        var ort = TimingStats.Measure(() =>
        {
            using var r = session.Run(ortInputs, ["last_hidden_state"]);
            _ = r.First().AsTensor<float>()[0, 0, 0];
        }, warmup, runs);

        report.AppendLine(CultureInfo.InvariantCulture, $"## Batch {batch} × length {length}").AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Ours: {forward.MedianMs:F3} ms per forward; ONNX Runtime: {ort.MedianMs:F3} ms (ours at {ort.MedianMs / forward.MedianMs:F2}× its speed).").AppendLine();
        report.AppendLine("| operation | calls per forward | ms per call | ms per forward | share of our forward | GFLOP/s |");
        report.AppendLine("|---|--:|--:|--:|--:|--:|");
        double listed = 0;
        foreach (var op in ops)
        {
            var t = Time(op.Run);
            double perForward = op.PerForward * t.MedianMs;
            listed += perForward;
            string gflops = op.Flops > 0 ? (op.Flops / (t.MedianMs * 1e6)).ToString("F1", CultureInfo.InvariantCulture) : "";
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| {op.Name} | {op.PerForward} | {t.MedianMs:F4} | {(op.PerForward > 0 ? perForward.ToString("F3", CultureInfo.InvariantCulture) : "")} | {(op.PerForward > 0 ? (perForward / forward.MedianMs).ToString("P0", CultureInfo.InvariantCulture) : "")} | {gflops} |");
        }
        report.AppendLine(CultureInfo.InvariantCulture, $"| the rest (embeddings, checks, mask, pooler, scopes) | | | {forward.MedianMs - listed:F3} | {(forward.MedianMs - listed) / forward.MedianMs:P0} | |");
        report.AppendLine();
        MiniLmFlat.Compare(model, ids, mask, ort.MedianMs, Time, report);
    }
}
