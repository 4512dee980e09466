using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using Transformers.Training;
using static TorchSharp.torch;

namespace Transformers.Lab.Translation;

/// <summary>
/// <c>scalar-gc [--fence | --gate] [--seconds N] [--garbage KB]</c>: the hazard <see cref="GcFence"/> guards against, made
/// frequent. Two threads, like two data-parallel workers, run "steps" of tensor arithmetic whose numbers TorchSharp turns
/// into implicit Scalars (<c>a + b</c> is add with alpha 1, <c>x * 0.5</c>, <c>masked_fill(m, -1e9)</c>) while they allocate
/// managed garbage, so collections come often and can land while the other thread is inside a native call. Each result
/// is checked against its value; the run prints steps, wrong results and collections. Without <c>--fence</c> a freed
/// Scalar shows as a crash (exit 134, "Expected false to be true") or a wrong result; with it, collections run only
/// between steps; with <c>--gate</c> (<see cref="FinalizerGate"/>) collections run anywhere but finalizers only between steps. experiments/robustness/scalar-gc.sh runs both.
/// </summary>
public static class ScalarGcStress
{
    private static byte[]? sink;

    /// <returns>0 when every result was right, 1 otherwise</returns>
    public static int Run(bool fence, double seconds, int garbageKb, bool gate = false)
    {
        if (fence && gate) throw new ArgumentException("--fence and --gate are alternatives: give one");
        int garbage = garbageKb * 1024;
        TorchRuntime.EnsureLoaded();
        set_num_threads(1);
        manual_seed(3);
        var a = randn(64, 256);
        var b = randn(64, 256);
        var mask = rand(64, 256) < 0.5;
        var expected = ((a + b) * 0.5).masked_fill(mask, -1e9).sum().item<float>();   // computed once, before any stress
        using var gcFence = new GcFence();
        using var finalizerGate = new FinalizerGate();
        long steps = 0, wrong = 0;
        int collections = GC.CollectionCount(0);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            if (fence) gcFence.Hold();
            if (gate && !finalizerGate.Close(FinalizerGate.CloseTimeout)) throw new InvalidOperationException($"the finalizer thread did not reach the gate in {FinalizerGate.CloseTimeout.TotalSeconds} s");
            var workers = Enumerable.Range(0, 2).Select(_ => Task.Factory.StartNew(() =>
            {
                long bad = 0;
                for (int i = 0; i < 100; i++)
                {
                    using var scope = NewDisposeScope();
                    var value = ((a + b) * 0.5).masked_fill(mask, -1e9).sum().item<float>();
                    if (value != expected) bad++;
                    sink = new byte[garbage];                                      // managed allocations: collections
                }
                return bad;
            }, TaskCreationOptions.LongRunning)).ToArray();
            try { Task.WaitAll(workers); }
            finally { finalizerGate.Open(); }
            wrong += workers.Sum(w => w.Result);
            steps++;
        }
        gcFence.Release();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"scalar-gc {(fence ? "with the fence" : gate ? "with the finalizer gate" : "without the fence")}: {steps} steps of 2 x 100 expressions in {clock.Elapsed.TotalSeconds:F0} s, " +
            $"{wrong} wrong results, {GC.CollectionCount(0) - collections} collections, {gcFence.Opened} regions opened, {gcFence.Overruns} overruns, {finalizerGate.TimedOut} gate timeouts"));
        return wrong == 0 ? 0 : 1;
    }
}
