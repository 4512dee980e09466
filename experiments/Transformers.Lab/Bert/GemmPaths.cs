using System.Globalization;
using System.Text;
using Transformers.Lab.Runner;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Transformers.Lab.Bert;

/// <summary>
/// Issue 15 item 4: the same float32 linear layer through libtorch's three CPU routes, at MiniLM's shapes: the default
/// (<c>nn.functional.linear</c>: the BLAS libtorch bundles, oneMKL), oneDNN on its own tensor layout
/// (<c>mkldnn_linear</c>, as PyTorch's <c>torch.utils.mkldnn</c>), and oneDNN with the weight packed once
/// (<c>mkldnn::_linear_pointwise</c>, what TorchInductor's weight prepacking calls). The two oneDNN routes are reached
/// through TorchScript (TorchSharp has no binding for them). Each route's result is checked against the default one.
/// <c>gemm-paths [--threads N] [--out FILE]</c>
/// </summary>
public static class GemmPaths
{
    /// <summary>Each route its own TorchScript unit, so that one that does not compile here leaves the others.</summary>
    private static readonly (string Name, string Source)[] Scripts =
    [
        ("mkldnn_weight", "def mkldnn_weight(w: Tensor) -> Tensor:\n    return w.to_mkldnn()\n"),
        ("mkldnn_linear", "def mkldnn_linear(x: Tensor, w: Tensor, b: Tensor) -> Tensor:\n    return torch.mkldnn_linear(x.to_mkldnn(), w, b).to_dense()\n"),
        ("packed_weight", "def packed_weight(w: Tensor, rows: int) -> Tensor:\n    return torch.ops.mkldnn._reorder_linear_weight(w, rows)\n"),
        ("packed_linear", "def packed_linear(x: Tensor, w: Tensor, b: Tensor) -> Tensor:\n    return torch.ops.mkldnn._linear_pointwise(x, w, b, \"none\", [None], \"\")\n"),
        ("packed_linear2", "def packed_linear2(x: Tensor, w: Tensor, b: Tensor) -> Tensor:\n    s: List[Optional[float]] = []\n    return torch.ops.mkldnn._linear_pointwise(x, w, b, \"none\", s, \"\")\n"),
    ];

    /// <param name="only">compile only these routes' scripts (a script libtorch cannot compile ends the process: TorchSharp 0.107 does not catch the error)</param>
    public static int Run(int threads, string? output, IReadOnlyCollection<string>? only = null)
    {
        TorchRuntime.EnsureLoaded();
        set_num_threads(threads);
        var stamp = MachineStamp.Take(threads);
        var report = new StringBuilder();
        report.AppendLine("# One float32 linear layer through libtorch's CPU routes (issue 15 item 4)").AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"{stamp.Cpu}, {stamp.Cores} cores, {threads} threads; {stamp.DateUtc:yyyy-MM-dd HH:mm} UTC, commit {stamp.Commit}, load {stamp.LoadAverage}.").AppendLine();
        report.AppendLine("| rows × in → out | route | ms per call (median) | GFLOP/s | max abs difference to the default |");
        report.AppendLine("|---|---|--:|--:|--:|");
        var units = new Dictionary<string, jit.CompilationUnit>();
        foreach (var (name, source) in Scripts.Where(s => only is null || only.Contains(s.Name)))
            try { units[name] = jit.compile(source); }
            catch (Exception e) { report.AppendLine(CultureInfo.InvariantCulture, $"({name}: the TorchScript does not compile here: {e.Message.Split('\n')[0]})").AppendLine(); }
        Tensor Invoke(string name, params object[] args) =>
            units.TryGetValue(name, out var unit) ? unit.invoke<Tensor>(name, args) : throw new InvalidOperationException($"{name} did not compile");
        foreach (var (rows, inputs, outputs) in new[] { (16, 384, 384), (16, 384, 1536), (4096, 384, 384), (4096, 384, 1536), (4096, 1536, 384) })
        {
            manual_seed(1);
            var x = randn(rows, inputs);
            var w = randn(outputs, inputs) * 0.05;
            var b = randn(outputs);
            double flops = 2.0 * rows * inputs * outputs;
            int runs = rows <= 16 ? 400 : 20, warmup = rows <= 16 ? 50 : 3;
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
            Row("nn.functional.linear (oneMKL)", () => nn.functional.linear(x, w, b));
            {
                Tensor? mw = null, mb = null, pw = null;
                try
                {
                    mw = Invoke("mkldnn_weight", w);
                    mb = Invoke("mkldnn_weight", b);
                }
                catch (Exception e) { report.AppendLine(CultureInfo.InvariantCulture, $"| {rows} × {inputs} → {outputs} | oneDNN layout | failed: {e.Message.Split('\n')[0]} | | |"); }
                if (mw is not null) Row("mkldnn_linear (oneDNN layout)", () => Invoke("mkldnn_linear", x, mw, mb!));
                try { pw = Invoke("packed_weight", w, (long)rows); }
                catch (Exception e) { report.AppendLine(CultureInfo.InvariantCulture, $"| {rows} × {inputs} → {outputs} | oneDNN packed | failed: {e.Message.Split('\n')[0]} | | |"); }
                var packed = units.ContainsKey("packed_linear") ? "packed_linear" : "packed_linear2";
                if (pw is not null) Row("mkldnn::_linear_pointwise (weight packed once)", () => Invoke(packed, x, pw, b));
            }
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
