using System.Text.Json;
using Transformers.Training;

namespace Transformers.Tests.Translation;

public sealed class MemoryLogTests
{
    [Fact]
    public void WritesOneJsonLinePerInterval_WithTheProcessMemory_AndOnForce()
    {
        var path = Path.Combine(Path.GetTempPath(), "memory-log-" + Guid.NewGuid().ToString("N") + ".jsonl");
        try
        {
            using (var log = MemoryLog.Open(path, every: 3))
            {
                using var big = TorchSharp.torch.zeros(8L << 20);                         // 32 MiB held by libtorch's allocator
                for (long step = 1; step <= 7; step++) log.Step(step);                  // lines at 3 and 6
                log.Step(7, "after-eval", force: true);
            }
            var lines = File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Equal([3L, 6L, 7L], lines.Select(l => l.GetProperty("step").GetInt64()));
            Assert.Equal("after-eval", lines[2].GetProperty("phase").GetString());
            foreach (var l in lines)
            {
                Assert.True(l.GetProperty("rss_mib").GetDouble() > 32, "the resident size includes the 32 MiB tensor");
                Assert.True(l.GetProperty("peak_rss_mib").GetDouble() >= l.GetProperty("rss_mib").GetDouble(), "the peak is at least the resident size");
                Assert.True(l.GetProperty("malloc_in_use_mib").GetDouble() >= 32, "glibc's heap holds the 32 MiB tensor");
                Assert.True(l.GetProperty("tensors").GetInt64() >= 1);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Interval_BelowOne_IsRefused() => Assert.Throws<ArgumentOutOfRangeException>(() => MemoryLog.Open("unused", 0));
}

/// <summary>Resident size is process-wide: run alone.</summary>
[Collection(SerialCollection.Name)]
public sealed class ReleaseFreedMemoryTests
{
    private static long ResidentMib() => long.Parse(File.ReadAllText("/proc/self/statm").Split(' ')[1]) * Environment.SystemPageSize >> 20;

    [Fact]
    public void AFreedTensorsPages_LeaveTheProcess_OnRelease()
    {
        if (!OperatingSystem.IsLinux()) return;
        TorchRuntime.EnsureLoaded();                                      // keeps freed memory in the heap (mmap threshold 1 GiB, no trim)
        // 16 tensors of 16 MiB (a thread's arena takes at most 64 MiB per chunk; larger ones are mmapped and unmapped on free)
        var tensors = Enumerable.Range(0, 16).Select(_ => TorchSharp.torch.ones(4L << 20)).ToList();      // every page written
        Assert.Equal(16f * (4L << 20), tensors.Sum(t => t.sum().item<float>()));
        tensors.ForEach(t => t.Dispose());
        long kept = ResidentMib();
        Assert.True(TorchRuntime.ReleaseFreedMemory(), "malloc_trim released nothing");
        long released = kept - ResidentMib();
        Assert.True(released >= 200, $"the resident size fell by {released} MiB, not by the freed tensors' 256");
    }
}
