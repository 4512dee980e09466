using System.Runtime.ExceptionServices;

namespace Transformers.Training;

/// <summary>
/// The data-parallel workers' threads: started once and reused by every step (as a thread pool would be), where a thread
/// started per step (<c>Task.Factory.StartNew(..., LongRunning)</c>) gives libtorch, glibc and the runtime a new thread to
/// set up and tear down each time. Worker 0 is the calling thread.
/// </summary>
public sealed class WorkerThreads : IDisposable
{
    private readonly Thread[] threads;
    private readonly SemaphoreSlim[] go;
    private readonly CountdownEvent finished = new(1);
    private readonly Exception?[] failures;
    private Action<int>? work;
    private volatile bool stopping;

    /// <param name="count">Workers in all, the calling thread included (so <c>count - 1</c> threads are started).</param>
    /// <param name="name">The threads' name (for debuggers and profilers).</param>
    public WorkerThreads(int count, string name = "data-parallel worker")
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "must be at least 1 worker");
        threads = new Thread[count - 1];
        go = new SemaphoreSlim[count - 1];
        failures = new Exception?[count - 1];
        for (int i = 0; i < threads.Length; i++)
        {
            go[i] = new SemaphoreSlim(0);
            threads[i] = new Thread(Loop) { IsBackground = true, Name = $"{name} {i + 1}" };
            threads[i].Start(i);
        }
    }

    /// <summary>Workers in all, the calling thread included.</summary>
    public int Count => threads.Length + 1;

    /// <summary>
    /// Runs <paramref name="step"/>(w) for w = 0 .. <paramref name="workers"/> - 1, worker 0 on the calling thread and the
    /// others on their threads, and returns the results in worker order once all have finished. If any worker throws,
    /// all still finish, and the first exception in worker order is rethrown.
    /// </summary>
    public T[] Run<T>(int workers, Func<int, T> step)
    {
        ObjectDisposedException.ThrowIf(stopping, this);
        if (workers < 1 || workers > Count) throw new ArgumentOutOfRangeException(nameof(workers), workers, $"must be 1 to {Count}");
        var results = new T[workers];
        if (workers == 1)
        {
            results[0] = step(0);
            return results;
        }
        work = w => results[w] = step(w);
        Array.Clear(failures);
        finished.Reset(workers - 1);
        for (int i = 0; i < workers - 1; i++) go[i].Release();
        Exception? own = null;
        try { results[0] = step(0); }
        catch (Exception e) { own = e; }
        finished.Wait();                                                          // never leave a worker running
        work = null;
        if ((own ?? failures.FirstOrDefault(f => f is not null)) is { } failure) ExceptionDispatchInfo.Capture(failure).Throw();
        return results;
    }

    private void Loop(object? index)
    {
        int i = (int)index!;
        while (true)
        {
            go[i].Wait();
            if (stopping) return;
            try { work!(i + 1); }
            catch (Exception e) { failures[i] = e; }
            finally { finished.Signal(); }
        }
    }

    /// <summary>Ends the threads (they are idle between <see cref="Run{T}"/> calls).</summary>
    public void Dispose()
    {
        if (stopping) return;
        stopping = true;
        foreach (var g in go) g.Release();
        foreach (var t in threads) t.Join();
        foreach (var g in go) g.Dispose();
        finished.Dispose();
    }
}
