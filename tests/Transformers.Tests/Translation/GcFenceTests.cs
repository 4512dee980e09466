using System.Runtime;
using Transformers.Training;

namespace Transformers.Tests.Translation;

/// <summary>The no-GC region is process-wide: these run alone (another test's allocations would spend the budget).</summary>
[Collection(SerialCollection.Name)]
public class GcFenceTests
{
    private static byte[]? sink;

    /// <summary>About <paramref name="bytes"/> of short-lived small arrays.</summary>
    private static void Allocate(long bytes)
    {
        for (long i = 0; i < bytes / 1024; i++) sink = new byte[1000];
    }

    [Fact]
    public void WhileHeld_NoCollectionRuns_AndEachHoldCollectsOnce_BeforeItsStep()
    {
        SerialCollection.Settle();
        using var fence = new GcFence(budget: 16L << 20);
        int collections = GC.CollectionCount(0);
        fence.Hold();
        Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        Assert.Equal(collections + 1, GC.CollectionCount(0));                      // the region starts with one collection
        Allocate(8L << 20);                                                         // a "step": 8 MiB, no collection
        Assert.Equal(collections + 1, GC.CollectionCount(0));
        fence.Release();
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        fence.Hold();                                                               // the next step: a new region, one collection
        Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        Assert.Equal(collections + 2, GC.CollectionCount(0));
        fence.Hold();                                                               // held twice: the region is renewed, not nested
        Assert.Equal((3, 0), (fence.Opened, fence.Overruns));
        fence.Release();
        fence.Release();                                                            // twice is harmless
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
    }

    [Fact]
    public void AStepThatAllocatesPastTheBudget_LeavesTheRegion_AndIsCounted()
    {
        SerialCollection.Settle();
        using var fence = new GcFence(budget: 4L << 20);
        fence.Hold();
        Allocate(32L << 20);                                 // the runtime collects and leaves the region
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        fence.Hold();                                        // a new region for the next step
        Assert.Equal((1, 2), (fence.Overruns, fence.Opened));
        fence.Release();
    }
}
