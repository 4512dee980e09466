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
    public void WhileHeld_NoCollectionRuns_AndTheRegionIsRenewedBetweenStepsOnceHalfTheBudgetIsUsed()
    {
        SerialCollection.Settle();
        using var fence = new GcFence(budget: 64L << 20);
        fence.Hold();
        Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        int collections = GC.CollectionCount(0);
        Allocate(8L << 20);                                  // a "step": 8 MiB
        fence.Hold();                                        // under half the budget: the same region, no collection
        Allocate(8L << 20);
        Assert.Equal(collections, GC.CollectionCount(0));
        Assert.Equal(1, fence.Opened);
        Allocate(24L << 20);                                 // 40 of 64 MiB used
        fence.Hold();                                        // renewed here, between steps: one collection
        Assert.Equal(2, fence.Opened);
        Assert.Equal(collections + 1, GC.CollectionCount(0));
        fence.Release();
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        Assert.Equal(0, fence.Overruns);
    }

    [Fact]
    public void AStepThatAllocatesPastTheBudget_LeavesTheRegion_AndIsCounted()
    {
        SerialCollection.Settle();
        using var fence = new GcFence(budget: 4L << 20);
        fence.Hold();
        Allocate(32L << 20);                                 // the runtime collects and leaves the region
        Assert.NotEqual(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
        fence.Hold();
        Assert.Equal((1, 2), (fence.Overruns, fence.Opened));
        fence.Release();
    }
}
