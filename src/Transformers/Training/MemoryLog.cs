using System.Globalization;
using System.Runtime.InteropServices;

namespace Transformers.Training;

/// <summary>
/// Where a training process's memory is, every N steps, for measuring (issue 15 item 5; experiments/memory/rss.sh):
/// TRANSFORMERS_MEMORY_LOG=N makes the trainer append one JSON line per N steps to memory.jsonl in the run directory
/// with the resident size (now and its peak so far), the .NET heap (its live size after the last collection, and what it has committed), the
/// number of collections so far, the tensors TorchSharp still tracks, and glibc's malloc heap (bytes in use, bytes
/// free inside it). Off by default; reading these costs a few microseconds.
/// </summary>
public sealed class MemoryLog : IDisposable
{
    public const string EnvironmentVariable = "TRANSFORMERS_MEMORY_LOG";
    private readonly StreamWriter writer;
    private readonly int every;

    private MemoryLog(string path, int every)
    {
        writer = new StreamWriter(path, append: true) { AutoFlush = true };
        this.every = every;
    }

    /// <summary>Appends to <paramref name="path"/> every <paramref name="every"/> steps.</summary>
    public static MemoryLog Open(string path, int every) =>
        every >= 1 ? new MemoryLog(path, every) : throw new ArgumentOutOfRangeException(nameof(every), every, "must be at least 1 step");

    /// <summary>A log in <paramref name="runDirectory"/> when TRANSFORMERS_MEMORY_LOG is a positive step count, else null.</summary>
    public static MemoryLog? FromEnvironment(string runDirectory)
    {
        var value = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (string.IsNullOrEmpty(value)) return null;
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int every) || every < 1)
            throw new ArgumentException($"{EnvironmentVariable}='{value}' must be a positive number of steps");
        return Open(Path.Combine(runDirectory, "memory.jsonl"), every);
    }

    /// <summary>Writes a line when <paramref name="step"/> is a multiple of the interval (or when <paramref name="force"/>, e.g. after an evaluation).</summary>
    public void Step(long step, string phase = "step", bool force = false)
    {
        if (!force && step % every != 0) return;
        var gc = GC.GetGCMemoryInfo();
        var (inUse, free) = MallocHeap();
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"step\":{step},\"phase\":\"{phase}\",\"rss_mib\":{Mib(ResidentBytes())},\"peak_rss_mib\":{Mib(PeakResidentBytes())},\"managed_heap_mib\":{Mib(gc.HeapSizeBytes)},\"managed_committed_mib\":{Mib(gc.TotalCommittedBytes)}," +
            $"\"allocated_mib\":{Mib(GC.GetTotalAllocatedBytes())},\"gc0\":{GC.CollectionCount(0)},\"gc1\":{GC.CollectionCount(1)},\"gc2\":{GC.CollectionCount(2)}," +
            $"\"tensors\":{TorchSharp.torch.Tensor.TotalCount},\"malloc_in_use_mib\":{Mib(inUse)},\"malloc_free_mib\":{Mib(free)}}}"));
    }

    private static string Mib(long bytes) => bytes < 0 ? "null" : (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);

    /// <summary>Resident bytes from /proc/self/statm (Linux); -1 elsewhere.</summary>
    private static long ResidentBytes()
    {
        try
        {
            var fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return long.Parse(fields[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return -1;
        }
    }

    /// <summary>The process's peak resident bytes so far (VmHWM in /proc/self/status, Linux); -1 elsewhere.</summary>
    private static long PeakResidentBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;   // "VmHWM:   123456 kB"
            return -1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return -1;
        }
    }

    /// <summary>glibc's mallinfo2 (2.33+): bytes handed out (heap and mmapped chunks) and bytes free inside the heap; (-1, -1) without it.</summary>
    private static (long InUse, long Free) MallocHeap()
    {
        if (!OperatingSystem.IsLinux()) return (-1, -1);
        try
        {
            var m = mallinfo2();
            return ((long)(m.uordblks + m.hblkhd), (long)m.fordblks);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return (-1, -1);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2
    {
        public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallInfo2 mallinfo2();

    public void Dispose() => writer.Dispose();
}
