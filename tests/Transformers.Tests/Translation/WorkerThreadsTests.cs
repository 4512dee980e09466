using Transformers.Training;

namespace Transformers.Tests.Translation;

public class WorkerThreadsTests
{
    [Fact]
    public void Run_GivesResultsInWorkerOrder_WorkerZeroOnTheCaller_AndTheSameThreadsEveryTime()
    {
        using var pool = new WorkerThreads(3);
        Assert.Equal(3, pool.Count);
        int caller = Environment.CurrentManagedThreadId;
        int[]? firstThreads = null;
        for (int round = 0; round < 5; round++)
        {
            var results = pool.Run(3, w => (Worker: w * 10 + round, Thread: Environment.CurrentManagedThreadId));
            Assert.Equal([round, 10 + round, 20 + round], results.Select(r => r.Worker));
            Assert.Equal(caller, results[0].Thread);
            var threads = results.Select(r => r.Thread).ToArray();
            Assert.Equal(3, threads.Distinct().Count());
            firstThreads ??= threads;
            Assert.Equal(firstThreads, threads);                                  // started once, reused by every step
        }
    }

    [Fact]
    public void Run_WithFewerWorkersThanThreads_RunsOnlyThoseWorkers()
    {
        using var pool = new WorkerThreads(4);
        int calls = 0;
        var results = pool.Run(2, w => { Interlocked.Increment(ref calls); return w; });
        Assert.Equal([0, 1], results);
        Assert.Equal(2, calls);
        Assert.Equal([0], pool.Run(1, w => w));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Run(5, w => w));
    }

    [Fact]
    public void Run_WhenWorkersThrow_WaitsForAll_RethrowsTheFirstInWorkerOrder_AndStaysUsable()
    {
        using var pool = new WorkerThreads(3);
        int finished = 0;
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run<int>(3, w =>
        {
            if (w == 2) throw new InvalidOperationException("worker 2");
            if (w == 1)
            {
                Thread.Sleep(50);                                                 // finishes after the caller's worker failed
                Interlocked.Increment(ref finished);
                throw new InvalidOperationException("worker 1");
            }
            Interlocked.Increment(ref finished);
            return w;
        }));
        Assert.Equal("worker 1", e.Message);
        Assert.Equal(2, finished);                                                // worker 1 was not left running
        Assert.Equal([0, 1, 2], pool.Run(3, w => w));
    }

    [Fact]
    public void Dispose_EndsTheThreads_AndRunAfterwardsIsAnError()
    {
        var pool = new WorkerThreads(2);
        Thread? worker = null;
        pool.Run(2, w => { if (w == 1) worker = Thread.CurrentThread; return w; });
        pool.Dispose();
        Assert.False(worker!.IsAlive);
        Assert.Throws<ObjectDisposedException>(() => pool.Run(2, w => w));
        pool.Dispose();                                                           // twice is harmless
    }
}
