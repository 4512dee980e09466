using System.Runtime;

namespace Transformers.Training;

/// <summary>What keeps TorchSharp's implicit Scalars alive while data-parallel workers run (see <see cref="GcFence"/>).</summary>
public enum ParallelPhaseGuard { FinalizerGate, NoGcRegion, None }

/// <summary>
/// Keeps the garbage collector out of the data-parallel part of training steps, and lets it run between them. The
/// trainer's guard is <see cref="FinalizerGate"/> (the finalizer thread held instead, collections free: less memory,
/// faster); this fence is its fallback, and the guard with TRANSFORMERS_GC_FENCE=region.
/// <para>
/// Why: TorchSharp 0.107 hands implicitly created <c>Scalar</c>s to native calls by raw handle — <c>a + b</c> is
/// <c>add(b, alpha: 1)</c>, <c>x * 0.5</c> and <c>masked_fill(m, -inf)</c> convert their numbers — and leaves them to the
/// finalizer. Nothing keeps such a Scalar alive during the call, so a collection triggered by one worker's allocations
/// while the other worker is inside that call can free it mid-call: a crash ("Expected false to be true" in
/// <c>c10::Scalar::toFloat</c>, once in ~6,000 two-worker steps here) or, worse, a wrong value read silently (TorchSharp
/// pull requests 1434 and 1496 dispose these Scalars; not in 0.107). With one thread no other thread allocates, so only
/// the data-parallel phase needs the fence.
/// </para>
/// <para>
/// How: <see cref="Hold"/> (called at the start of a data-parallel phase, when no worker is inside a native call) opens
/// a no-GC region (<see cref="GC.TryStartNoGCRegion(long)"/>, which collects once, fully, as it starts) of
/// <see cref="Budget"/> bytes of managed allocation, and <see cref="Release"/> ends it as soon as the workers have
/// joined, so every step collects once, between its phases, and the finalizers free the previous step's garbage at once.
/// If allocations exceed the budget inside a step anyway, the runtime collects there and leaves the region: that step
/// is unfenced (counted in <see cref="Overruns"/>).
/// </para>
/// <para>
/// One region per step, not one region held over many steps: measured on the `small` Transformer (2 workers, 2 minutes,
/// experiments/results/memory-rss), a region renewed only once half of a 64 MiB budget was used — one collection every
/// ~50 steps — let the memory glibc keeps free inside its heaps grow without bound (2.7 GiB resident after 2 minutes and
/// rising; 22.3 GiB in 30 minutes with 500-token batches), and the steps that faulted that memory in ran at 0.85× the
/// speed (3,451 against 4,053 target tokens/s; 0.7× with 500-token batches). With a region per step the resident size
/// levelled off in the default recipe (1.6 GiB), but with 500-token batches it levelled off at 2.4 GiB in one run and
/// grew to 7.7 GiB in another: hence the gate.
/// </para>
/// </summary>
public sealed class GcFence(long budget = 0) : IDisposable
{
    /// <summary>16 MiB of managed allocation per step at most (a step of the Small models allocates about a megabyte).</summary>
    public const long DefaultBudget = 16L << 20;

    /// <summary>
    /// The budget a fence built without one gets: <see cref="DefaultBudget"/>, or TRANSFORMERS_GC_FENCE_MB (MiB, for
    /// measuring; experiments/memory/rss.sh).
    /// </summary>
    public static long ConfiguredBudget { get; } =
        long.TryParse(Environment.GetEnvironmentVariable("TRANSFORMERS_GC_FENCE_MB"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var mb) && mb >= 1
            ? mb << 20 : DefaultBudget;

    private bool open;

    public long Budget { get; private set; } = budget > 0 ? budget : ConfiguredBudget;
    /// <summary>Regions the runtime left because a step allocated past the budget.</summary>
    public int Overruns { get; private set; }
    /// <summary>Regions opened (each with one full collection).</summary>
    public int Opened { get; private set; }

    private static bool InRegion => GCSettings.LatencyMode == GCLatencyMode.NoGCRegion;

    /// <summary>
    /// How the trainer guards its data-parallel phase, read once from TRANSFORMERS_GC_FENCE: unset, the finalizer gate
    /// (with this fence as its fallback); "region", this fence only; "0", neither (for measuring, not for training).
    /// </summary>
    public static ParallelPhaseGuard Configured { get; } = Environment.GetEnvironmentVariable("TRANSFORMERS_GC_FENCE") switch
    {
        "region" => ParallelPhaseGuard.NoGcRegion,
        "0" => ParallelPhaseGuard.None,
        _ => ParallelPhaseGuard.FinalizerGate,
    };

    /// <summary>Whether <see cref="Hold"/> opens regions: unless TRANSFORMERS_GC_FENCE=0.</summary>
    public static bool Enabled => Configured != ParallelPhaseGuard.None;

    /// <summary>From here until <see cref="Release"/>, no collection runs (within the budget). Call it between steps.</summary>
    public void Hold()
    {
        if (!Enabled) return;
        Release();
        while (true)
        {
            try
            {
                open = GC.TryStartNoGCRegion(Budget);
                break;
            }
            catch (ArgumentOutOfRangeException) when (Budget > 1L << 20)
            {
                Budget /= 2;                                                          // larger than this runtime allows
            }
            catch (InvalidOperationException)
            {
                return;                                                               // someone else holds a region: theirs fences us too
            }
        }
        if (open) Opened++;
    }

    /// <summary>Lets the collector run again.</summary>
    public void Release()
    {
        if (!open) return;
        open = false;
        if (!InRegion) { Overruns++; return; }
        try { GC.EndNoGCRegion(); }
        catch (InvalidOperationException) { Overruns++; }                           // the runtime collected inside the region
    }

    public void Dispose() => Release();
}
