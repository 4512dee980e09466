using System.Globalization;
using System.Text;
using Transformers.Lab.Runner;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Transformers.Lab.Bert;

/// <summary>
/// Issue 15 item 4: the same float32 linear layer through libtorch's CPU routes, at MiniLM's shapes: the default
/// (<c>nn.functional.linear</c>: the BLAS libtorch bundles, oneMKL), oneDNN on its own tensor layout
/// (<c>mkldnn_linear</c>, as PyTorch's <c>torch.utils.mkldnn</c>), and the default BLAS with the weight stored transposed,
/// [in, out] contiguous (<c>addmm</c>: another operand layout for oneMKL). (Inductor's packed-weight route,
/// <c>mkldnn::_linear_pointwise</c>, is out of reach: <c>torch.ops</c> is not defined for TorchSharp's TorchScript compiler,
/// and a script that does not compile ends the process, as TorchSharp 0.107 does not catch the compiler's exception.)
/// oneDNN is reached through TorchScript (TorchSharp has no binding for it). Each route's result is checked against the default one.
/// <c>gemm-paths [--threads N] [--out FILE]</c>
/// </summary>
public static class GemmPaths
{
    /// <summary>oneDNN's linear and its layout conversion, which TorchSharp does not bind.</summary>
    private const string Script =
        "def mkldnn_weight(w: Tensor) -> Tensor:\n    return w.to_mkldnn()\n\n" +
        "def mkldnn_linear(x: Tensor, w: Tensor, b: Tensor) -> Tensor:\n    return torch.mkldnn_linear(x.to_mkldnn(), w, b).to_dense()\n";

    public static int Run(int threads, string? output)
    {
        TorchRuntime.EnsureLoaded();
        set_num_threads(threads);
        var stamp = MachineStamp.Take(threads);
        var report = new StringBuilder();
        report.AppendLine("# One float32 linear layer through libtorch's CPU routes (issue 15 item 4)").AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"{stamp.Cpu}, {stamp.Cores} cores, {threads} threads; {stamp.DateUtc:yyyy-MM-dd HH:mm} UTC, commit {stamp.Commit}, load {stamp.LoadAverage}.");
        report.AppendLine(TorchRuntime.MklIntelPaths
            ? "oneMKL chooses its kernels by the CPU's features (TorchRuntime's vendor unlock on; TRANSFORMERS_MKL_VENDOR_CHECK=1 turns it off)."
            : "oneMKL chooses its kernels as it does by default (on a non-Intel CPU: without its AVX-512 kernels).").AppendLine();
        report.AppendLine("| rows × in → out | route | ms per call (median) | GFLOP/s | max abs difference to the default |");
        report.AppendLine("|---|---|--:|--:|--:|");
        using var unit = jit.compile(Script);
        var shapes = new List<(int, int, int)>();
        foreach (var rows in new[] { 1, 4, 16, 64, 256, 1024, 4096 })
            shapes.AddRange([(rows, 384, 384), (rows, 384, 1536), (rows, 1536, 384)]);
        shapes.Add((300, 64, 64));                                   // an output width oneDNN 3.7.1's brgemm splits into blocks of 48 (see the difference column)
        foreach (var (rows, inputs, outputs) in shapes)
        {
            manual_seed(1);
            var x = randn(rows, inputs);
            var w = randn(outputs, inputs) * 0.05;
            var b = randn(outputs);
            double flops = 2.0 * rows * inputs * outputs;
            int runs = rows <= 256 ? 200 : 20, warmup = rows <= 256 ? 30 : 3;
            Tensor reference;
            using (no_grad()) reference = nn.functional.linear(x, w, b);
            void Row(string route, Func<Tensor> call)
            {
                try
                {
                    Tensor result;
                    using (no_grad()) result = call();
                    double diff = (result - reference).abs().max().item<float>();
                    var t = TimingStats.Measure(() =>
                    {
                        using var scope = NewDisposeScope();
                        using var _ = no_grad();
                        call();
                    }, warmup, runs);
                    report.AppendLine(CultureInfo.InvariantCulture, $"| {rows} × {inputs} → {outputs} | {route} | {t.MedianMs:F4} | {flops / (t.MedianMs * 1e6):F1} | {diff:G2} |");
                }
                catch (Exception e)
                {
                    report.AppendLine(CultureInfo.InvariantCulture, $"| {rows} × {inputs} → {outputs} | {route} | failed: {e.Message.Split('\n')[0]} | | |");
                }
            }
            void Train(string route, Func<Tensor, Tensor, Tensor, Tensor> call, Tensor? weight = null)
            {
                var (xg, wg, bg) = (x.detach().requires_grad_(), (weight ?? w).detach().requires_grad_(), b.detach().requires_grad_());
                try
                {
                    var t = TimingStats.Measure(() =>
                    {
                        using var scope = NewDisposeScope();
                        call(xg, wg, bg).sum().backward();
                        xg.grad!.zero_(); wg.grad!.zero_(); bg.grad!.zero_();
                    }, warmup, runs);
                    report.AppendLine(CultureInfo.InvariantCulture, $"| {rows} × {inputs} → {outputs} | forward + backward: {route} | {t.MedianMs:F4} | {3 * flops / (t.MedianMs * 1e6):F1} | |");
                }
                catch (Exception e)
                {
                    report.AppendLine(CultureInfo.InvariantCulture, $"| {rows} × {inputs} → {outputs} | forward + backward: {route} | failed: {e.Message.Split('\n')[0]} | | |");
                }
            }
            Row("nn.functional.linear (oneMKL)", () => nn.functional.linear(x, w, b));
            var wt = w.t().contiguous();                                                                  // [in, out], stored once, as a model would
            Row("addmm, weight stored transposed [in, out] (oneMKL)", () => addmm(b, x, wt, 1, 1));
            var wView = wt.t();                                                                           // [out, in] as a view of the [in, out] storage
            Row("linear, weight [out, in] viewing [in, out] storage (oneMKL)", () => nn.functional.linear(x, wView, b));
            var (mw, mb) = (unit.invoke<Tensor>("mkldnn_weight", w), unit.invoke<Tensor>("mkldnn_weight", b));      // converted once, as a model would
            Row("mkldnn_linear (oneDNN layout)", () => unit.invoke<Tensor>("mkldnn_linear", x, mw, mb));
            Row("mkldnn_linear (dense weight)", () => unit.invoke<Tensor>("mkldnn_linear", x, w, b));
            Train("nn.functional.linear (oneMKL)", (xg, wg, bg) => nn.functional.linear(xg, wg, bg));
            Train("mkldnn_linear (dense weight)", (xg, wg, bg) => unit.invoke<Tensor>("mkldnn_linear", xg, wg, bg));
            Train("linear, weight [out, in] viewing [in, out] storage", (xg, wg, bg) => nn.functional.linear(xg, wg, bg), wView);   // detach keeps the strides
        }
        Console.Write(report);
        if (output is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
            File.WriteAllText(output, report.ToString());
        }
        return 0;
    }
}
