using Transformers.Training;

namespace Transformers.Tests.Translation;

/// <summary>The finalizer thread is process-wide: these run alone.</summary>
[Collection(SerialCollection.Name)]
public class FinalizerGateTests
{
    private sealed class Witness
    {
        public volatile bool Finalized;
    }

    private sealed class Flag(Witness witness)
    {
        ~Flag() => witness.Finalized = true;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void Drop(Witness witness) => _ = new Flag(witness);

    [Fact]
    public void WhileClosed_CollectionsRun_ButNoFinalizer_AndOpenLetsThemRun()
    {
        SerialCollection.Settle();
        using var gate = new FinalizerGate();
        Assert.True(gate.Close(TimeSpan.FromSeconds(10)));
        Assert.True(gate.IsClosed);
        var witness = new Witness();
        Drop(witness);
        int collections = GC.CollectionCount(0);
        GC.Collect();                                                               // the collector runs while closed ...
        Assert.True(GC.CollectionCount(0) > collections);
        Thread.Sleep(200);
        Assert.False(witness.Finalized);                                                      // ... but the dead object's finalizer does not
        gate.Open();
        Assert.False(gate.IsClosed);
        GC.WaitForPendingFinalizers();                                              // returns: the finalizer thread is free again
        Assert.True(witness.Finalized);
    }

    [Fact]
    public void Close_WhenTheFinalizerThreadIsHeldElsewhere_TimesOut_HoldsNothing_AndLeavesNothingBlocked()
    {
        SerialCollection.Settle();
        using var first = new FinalizerGate();
        using var second = new FinalizerGate();
        Assert.True(first.Close(TimeSpan.FromSeconds(10)));
        Assert.False(second.Close(TimeSpan.FromMilliseconds(200)));               // the thread is parked in first's latch
        Assert.Equal(1, second.TimedOut);
        Assert.False(second.IsClosed);
        first.Open();
        GC.WaitForPendingFinalizers();                                              // second's latch was opened on its timeout: no deadlock
        Assert.True(second.Close(TimeSpan.FromSeconds(10)));                        // and the gate works again
        second.Open();
        GC.WaitForPendingFinalizers();
    }
}
