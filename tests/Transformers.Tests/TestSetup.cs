using System.Runtime.CompilerServices;

namespace Transformers.Tests;

/// <summary>
/// Loads libtorch the way the programs do (TorchRuntime.EnsureLoaded) before any test touches it: oneMKL's kernel
/// choice is made at the first matrix product, so a test that multiplied before it would fix the kernels for the whole
/// process (and the vendor unlock would be skipped), making results depend on the order the tests run in.
/// </summary>
internal static class TestSetup
{
    [ModuleInitializer]
    internal static void LoadTorchFirst() => TorchRuntime.EnsureLoaded();
}
