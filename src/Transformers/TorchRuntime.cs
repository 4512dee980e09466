using TorchSharp;

namespace Transformers;

/// <summary>Raised when libtorch / LibTorchSharp cannot be loaded; the message says what is missing and what to do.</summary>
public sealed class TorchRuntimeException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Loading libtorch and choosing a device, with one clear message instead of TorchSharp's loader trace.</summary>
public static class TorchRuntime
{
    private static bool loaded;

    /// <summary>Loads the native libraries once; throws <see cref="TorchRuntimeException"/> with what is missing and what to do.</summary>
    public static void EnsureLoaded()
    {
        if (loaded) return;
        try
        {
            var native = PreloadNativeLibrary();
            KeepFreedMemory();
            libtorchCpu = OpenLibtorchCpu(native);
            MklIntelPaths = UnlockMklCodePaths(libtorchCpu);
            if (Environment.GetEnvironmentVariable(OneDnnVariable) is { } oneDnn)
                SetOneDnn(oneDnn switch
                {
                    "1" => true,
                    "0" => false,
                    _ => throw new TorchRuntimeException($"{OneDnnVariable}={oneDnn}: use 1 (libtorch's default: oneDNN where it applies) or 0 (never oneDNN)"),
                });
            using var probe = torch.zeros(1);
            loaded = true;
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or NotSupportedException)
        {
            var detail = e is TypeInitializationException { InnerException: { } inner } ? inner.Message : e.Message;
            bool glibcxx = detail.Contains("GLIBCXX_3.4.32", StringComparison.Ordinal);
            var what = glibcxx
                ? "libLibTorchSharp.so needs GLIBCXX_3.4.32 (GCC 13's libstdc++), which this system's libstdc++ lacks. " +
                  "The build of this repository marks that requirement weak in its output folder; this program's copy was not patched. " +
                  "Build it with `dotnet build` (or `dotnet publish`) from the repository, so Directory.Build.targets runs, or install libstdc++ from GCC 13 or newer."
                : "The TorchSharp native libraries (libtorch, LibTorchSharp) were not found or could not be loaded. " +
                  "Reference TorchSharp 0.107.0 with the libtorch package of your platform (libtorch-cpu-linux-x64 2.10.0 on Linux) and rebuild.";
            var firstLine = detail.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Contains("GLIBCXX", StringComparison.Ordinal)) ?? detail.Split('\n')[0].Trim();
            throw new TorchRuntimeException($"cannot load TorchSharp: {what} (loader said: {firstLine})", e);
        }
    }

    /// <summary>
    /// On Linux, loads the output folder's libLibTorchSharp.so ourselves first. If that fails, TorchSharp would go on to
    /// copy ~480 MB of libtorch into a "cpu" sub-folder and print a long trace before failing the same way; we stop here
    /// with the loader's own reason instead.
    /// </summary>
    private static string? PreloadNativeLibrary()
    {
        if (!OperatingSystem.IsLinux()) return null;
        var dir = AppContext.BaseDirectory;
        var candidates = new[] { Path.Combine(dir, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"), Path.Combine(dir, "libLibTorchSharp.so") };
        var path = candidates.FirstOrDefault(File.Exists);
        if (path is null)
            throw new DllNotFoundException($"libLibTorchSharp.so is not in {dir} (nor in its runtimes/linux-x64/native folder)");
        System.Runtime.InteropServices.NativeLibrary.Load(path); // throws DllNotFoundException with dlopen's message
        return Path.GetDirectoryName(path);
    }

    /// <summary>Whether oneMKL takes the code paths it takes on Intel processors in this process (see <see cref="UnlockMklCodePaths"/>).</summary>
    public static bool MklIntelPaths { get; private set; }

    /// <summary>
    /// The BLAS inside libtorch (oneMKL) picks its matrix-product kernels by CPU vendor before CPU features: on AMD
    /// processors it never takes its AVX-512 kernels, even where the processor has AVX-512 (Zen 4, Zen 5). On this
    /// project's machine (Zen 5, 2 threads) float32 products then run at ~160 GFLOP/s instead of ~320, forward and
    /// backward (experiments/results/speed/mkl-vendor.md). oneMKL asks once, in <c>mkl_serv_intel_cpu_true</c>, and keeps
    /// the answer in a variable of its own (initially -1, "not asked yet"); setting that variable to 1 before the first
    /// product makes it choose its kernels by the CPU's features, as on Intel processors — the same effect as the
    /// LD_PRELOAD shim users of MKL on AMD commonly use, without a native library. Done only on x64 Linux with a non-Intel
    /// CPU that has AVX2, only if the function's first instruction is the expected load of that variable (so another
    /// libtorch build is left alone), and not with TRANSFORMERS_MKL_VENDOR_CHECK=1. Returns whether it was done.
    /// </summary>
    private static unsafe bool UnlockMklCodePaths(nint library)
    {
        if (library == 0 || Environment.GetEnvironmentVariable("TRANSFORMERS_MKL_VENDOR_CHECK") == "1") return false;
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || IsIntel()) return false;
        if (!System.Runtime.InteropServices.NativeLibrary.TryGetExport(library, "mkl_serv_intel_cpu_true", out var function)) return false;
        byte* code = (byte*)function;
        if (code[0] != 0x8B || code[1] != 0x05) return false;                       // mov eax, [rip + disp32]: the cached answer
        int* cached = (int*)(code + 6 + *(int*)(code + 2));                          // rip-relative: from the end of the 6-byte instruction
        if (*cached != -1) return *cached == 1;                                      // already asked (or not the variable we expect): leave it
        *cached = 1;
        return true;
    }

    /// <summary>The environment variable that sets <see cref="OneDnnEnabled"/> when libtorch is loaded: 1 or 0.</summary>
    public const string OneDnnVariable = "TRANSFORMERS_ONEDNN";

    private static nint libtorchCpu;                                             // libtorch_cpu.so's handle (0: not found)

    private static nint OpenLibtorchCpu(string? nativeDirectory)
    {
        var library = nativeDirectory is null ? null : Path.Combine(nativeDirectory, "libtorch_cpu.so");
        return library is not null && File.Exists(library) && System.Runtime.InteropServices.NativeLibrary.TryLoad(library, out var handle) ? handle : 0;
    }

    /// <summary>
    /// Whether libtorch may run an operation through oneDNN (mkldnn) where it would: PyTorch's
    /// <c>torch.backends.mkldnn.enabled</c>, on by default. On the CPU in float32 it decides one thing this project runs:
    /// <c>nn.LSTM</c> on an unpacked batch calls oneDNN's LSTM primitive when on, libtorch's own cell loop when off (a packed
    /// batch, GRU and RNN always take libtorch's loop; products always go to oneMKL). <see cref="Recurrent.RecurrentStack"/>
    /// always packs an LSTM's batch, so its LSTMs never reach oneDNN either way. Set by <see cref="OneDnnVariable"/> at load
    /// time, or here. Read and written through libtorch's <c>at::Context</c>; on a platform where it cannot be reached
    /// (not Linux, another libtorch build) it reads true and setting it throws <see cref="TorchRuntimeException"/>.
    /// </summary>
    public static unsafe bool OneDnnEnabled
    {
        get
        {
            EnsureLoaded();
            var (context, get, _) = OneDnnSwitch();
            return context == 0 || ((delegate* unmanaged<nint, byte>)get)(context) != 0;
        }
        set
        {
            EnsureLoaded();
            SetOneDnn(value);
        }
    }

    private static unsafe void SetOneDnn(bool enabled)
    {
        var (context, _, set) = OneDnnSwitch();
        if (context == 0) throw new TorchRuntimeException($"oneDNN cannot be switched on or off here ({OneDnnVariable}, TorchRuntime.OneDnnEnabled): this libtorch build does not export at::Context::setUserEnabledMkldnn");
        ((delegate* unmanaged<nint, byte, void>)set)(context, enabled ? (byte)1 : (byte)0);
    }

    // at::globalContext(), at::Context::userEnabledMkldnn() const, at::Context::setUserEnabledMkldnn(bool) (Itanium C++ ABI:
    // `this` is the first argument); (0, 0, 0) where one is missing.
    private static unsafe (nint Context, nint Get, nint Set) OneDnnSwitch()
    {
        if (libtorchCpu == 0
            || !System.Runtime.InteropServices.NativeLibrary.TryGetExport(libtorchCpu, "_ZN2at13globalContextEv", out var globalContext)
            || !System.Runtime.InteropServices.NativeLibrary.TryGetExport(libtorchCpu, "_ZNK2at7Context17userEnabledMkldnnEv", out var get)
            || !System.Runtime.InteropServices.NativeLibrary.TryGetExport(libtorchCpu, "_ZN2at7Context20setUserEnabledMkldnnEb", out var set))
            return (0, 0, 0);
        return (((delegate* unmanaged<nint>)globalContext)(), get, set);
    }

    private static bool IsIntel()
    {
        if (!System.Runtime.Intrinsics.X86.X86Base.IsSupported) return false;
        var (_, ebx, ecx, edx) = System.Runtime.Intrinsics.X86.X86Base.CpuId(0, 0);  // vendor: ebx, edx, ecx = "GenuineIntel"
        return ebx == 0x756E6547 && edx == 0x49656E69 && ecx == 0x6C65746E;
    }

    /// <summary>
    /// On Linux with glibc, keeps freed memory in the process instead of returning it to the kernel after every large
    /// tensor: a training step frees and reallocates the same tens of megabytes (logits, activations) each time, and with
    /// glibc's defaults every such tensor is a fresh mmap whose pages fault in again (zeroed by the kernel, one core at a
    /// time). Measured on a Small Transformer step, 2 threads: 1.23× the tokens per second (experiments/results/
    /// translation/speed). The cost is that the resident size stays at its peak. The same settings as the environment
    /// variables MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ and MALLOC_TOP_PAD_, which PyTorch users set for the same reason.
    /// TRANSFORMERS_KEEP_FREED_MEMORY=0 leaves glibc's defaults (or those environment variables) in force: for measuring
    /// what the settings cost in memory (experiments/memory/rss.sh).
    /// </summary>
    private static void KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("TRANSFORMERS_KEEP_FREED_MEMORY") == "0") return;
        try
        {
            const int TrimThreshold = -1, TopPad = -2, MmapThreshold = -3;
            mallopt(MmapThreshold, 1 << 30);       // allocations up to 1 GiB come from the heap, not from mmap
            mallopt(TrimThreshold, int.MaxValue);  // never give the top of the heap back
            mallopt(TopPad, 256 << 20);            // grow the heap 256 MiB at a time
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // not glibc (e.g. musl): its allocator keeps its own defaults
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mallopt")]
    private static extern int mallopt(int param, int value);

    /// <summary>
    /// Gives the free memory inside glibc's heaps back to the kernel (<c>malloc_trim(0)</c>: whole free pages of every
    /// arena), keeping what is in use. <see cref="KeepFreedMemory"/> makes the heaps keep what tensors free, which saves
    /// the page faults of reallocating the same tensors each step; but tensors of varying sizes (length-bucketed batches)
    /// leave free chunks the next batch's tensors do not fit, and the heaps grow: in a 2-minute `small` Transformer run the
    /// memory in use stayed at 255–325 MiB while the free memory kept inside the heaps grew to 2.3 GiB
    /// (experiments/results/memory-rss). The translation trainer calls this around evaluations, and every N steps with
    /// TRANSFORMERS_RELEASE_MEMORY_EVERY=N (all trainers; the step after a release pays the page faults again). No-op off
    /// glibc. Returns whether memory was released.
    /// </summary>
    public static bool ReleaseFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try { return malloc_trim(0) != 0; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }

    /// <summary>The trainers' periodic release: <see cref="ReleaseFreedMemory"/> at every <paramref name="every"/>-th step (0: never).</summary>
    public static void ReleaseFreedMemoryEvery(int every, long step)
    {
        if (every > 0 && step % every == 0) ReleaseFreedMemory();
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int malloc_trim(nuint pad);

    /// <summary>"cpu", "cuda" or "cuda:N" -> a device; an unavailable CUDA device is an error naming it.</summary>
    public static torch.Device Device(string? name)
    {
        EnsureLoaded();
        if (string.IsNullOrWhiteSpace(name) || name == "cpu") return torch.CPU;
        if (name.StartsWith("cuda", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
                throw new ArgumentException($"device '{name}' requested, but CUDA is not available (this build references the CPU libtorch); use --device cpu");
            return torch.device(name);
        }
        throw new ArgumentException($"unknown device '{name}': use cpu, cuda or cuda:N");
    }
}
