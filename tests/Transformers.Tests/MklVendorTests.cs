using System.Runtime.Intrinsics.X86;

namespace Transformers.Tests;

/// <summary>
/// TorchRuntime lets libtorch's oneMKL choose its kernels by CPU features on non-Intel CPUs (experiments/results/speed/
/// mkl-vendor.md). This catches a libtorch whose oneMKL no longer has the shape the unlock expects: the unlock would be
/// skipped silently and every product would run at half speed on AMD.
/// </summary>
public sealed class MklVendorTests
{
    [Fact]
    public void OnANonIntelX64LinuxCpuWithAvx2_OneMklTakesTheIntelCodePaths_UnlessAskedNotTo()
    {
        TorchRuntime.EnsureLoaded();
        var (_, ebx, ecx, edx) = X86Base.IsSupported ? X86Base.CpuId(0, 0) : default;
        bool intel = ebx == 0x756E6547 && edx == 0x49656E69 && ecx == 0x6C65746E;          // "GenuineIntel"
        bool expected = OperatingSystem.IsLinux() && Avx2.IsSupported && !intel
                        && Environment.GetEnvironmentVariable("TRANSFORMERS_MKL_VENDOR_CHECK") != "1";
        Assert.Equal(expected, TorchRuntime.MklIntelPaths);
    }
}
