using System.Runtime.InteropServices;

namespace Transformers.Lab.Runner;

/// <summary>
/// Peak resident memory of one measured piece of work, on Linux: free heap pages are returned to the system
/// (<c>malloc_trim</c>), the kernel's high-water mark is reset (<c>echo 5 &gt; /proc/self/clear_refs</c>), the work runs,
/// and the peak is VmHWM minus the resident size before. Elsewhere (or when the kernel refuses) the peak is null.
/// </summary>
public static class PeakMemory
{
#pragma warning disable SYSLIB1054 // a blittable libc call: DllImport needs no unsafe code, LibraryImport would
    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
#pragma warning restore SYSLIB1054

    /// <summary>Runs <paramref name="work"/> and returns the resident bytes it added at its peak (null: not measurable here).</summary>
    public static long? Of(Action work)
    {
        long? before = Reset();
        work();
        if (before is null) return null;
        var peak = ReadStatusBytes("VmHWM:");
        return peak is null ? null : Math.Max(0, peak.Value - before.Value);
    }

    private static long? Reset()
    {
        if (!OperatingSystem.IsLinux()) return null;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        try
        {
            MallocTrim(0);
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        return ReadStatusBytes("VmRSS:");
    }

    /// <summary>The process's resident set size now (VmRSS; null where /proc is missing).</summary>
    public static long? ResidentBytes() => OperatingSystem.IsLinux() ? ReadStatusBytes("VmRSS:") : null;

    /// <summary>A "Name:   123 kB" line of /proc/self/status, in bytes.</summary>
    private static long? ReadStatusBytes(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0]) * 1024;
        return null;
    }
}
