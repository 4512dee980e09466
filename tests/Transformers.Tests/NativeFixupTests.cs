using System.Text;

namespace Transformers.Tests;

/// <summary>
/// The build's TorchSharp native fix-up (build/TorchSharpNativeFix.targets): the output folder's libLibTorchSharp.so has
/// its GLIBCXX_3.4.32 requirement marked weak when the system's libstdc++ lacks that version, and the NuGet cache's
/// copy is never modified. The ELF walk here is written independently of the MSBuild task.
/// </summary>
public sealed class NativeFixupTests
{
    private const string Version = "GLIBCXX_3.4.32";

    [Fact]
    public void OutputCopy_IsWeak_WhenTheSystemLacksTheVersion_AndTheNuGetCacheIsUntouched()
    {
        if (!OperatingSystem.IsLinux()) return;
        var output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(output), $"{output} missing");
        bool systemHas = File.Exists("/lib/x86_64-linux-gnu/libstdc++.so.6")
            && Contains(File.ReadAllBytes("/lib/x86_64-linux-gnu/libstdc++.so.6"), Encoding.ASCII.GetBytes(Version + "\0"));
        var outputFlags = VernauxFlags(output, Version);
        Assert.NotNull(outputFlags);
        if (!systemHas) Assert.True((outputFlags!.Value & 2) != 0, "output copy not marked weak");

        var home = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                   ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var cached = Path.Combine(home, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (File.Exists(cached))
            Assert.Equal(0, VernauxFlags(cached, Version)!.Value & 2);
    }

    private static bool Contains(byte[] hay, byte[] needle) => hay.AsSpan().IndexOf(needle) >= 0;

    /// <summary>vna_flags of the version-needed auxiliary entry named <paramref name="name"/>, found through the dynamic section.</summary>
    private static int? VernauxFlags(string path, string name)
    {
        var b = File.ReadAllBytes(path);
        ulong U64(long o) => BitConverter.ToUInt64(b, (int)o);
        uint U32(long o) => BitConverter.ToUInt32(b, (int)o);
        ushort U16(long o) => BitConverter.ToUInt16(b, (int)o);
        // Program headers -> PT_LOAD (to map addresses to offsets) and PT_DYNAMIC.
        long phoff = (long)U64(0x20);
        int phentsize = U16(0x36), phnum = U16(0x38);
        var loads = new List<(ulong Vaddr, ulong Offset, ulong Size)>();
        long dyn = -1;
        for (int i = 0; i < phnum; i++)
        {
            long ph = phoff + i * phentsize;
            uint type = U32(ph);
            if (type == 1) loads.Add((U64(ph + 0x10), U64(ph + 0x08), U64(ph + 0x28)));
            if (type == 2) dyn = (long)U64(ph + 0x08);
        }
        long ToOffset(ulong addr)
        {
            foreach (var (va, off, size) in loads)
                if (addr >= va && addr < va + size) return (long)(addr - va + off);
            throw new InvalidDataException($"address {addr:x} not in a PT_LOAD segment");
        }
        ulong strtab = 0, verneed = 0, verneednum = 0;
        for (long d = dyn; ; d += 16)
        {
            ulong tag = U64(d), val = U64(d + 8);
            if (tag == 0) break;
            if (tag == 5) strtab = val;                 // DT_STRTAB
            if (tag == 0x6ffffffe) verneed = val;       // DT_VERNEED
            if (tag == 0x6fffffff) verneednum = val;    // DT_VERNEEDNUM
        }
        long str = ToOffset(strtab), vn = ToOffset(verneed);
        for (ulong i = 0; i < verneednum; i++)
        {
            long aux = vn + U32(vn + 8);
            for (int k = 0; k < U16(vn + 2); k++)
            {
                long at = str + U32(aux + 8);
                int end = Array.IndexOf(b, (byte)0, (int)at);
                if (Encoding.ASCII.GetString(b, (int)at, end - (int)at) == name) return U16(aux + 4);
                aux += U32(aux + 12);
            }
            vn += U32(vn + 12);
        }
        return null;
    }
}
