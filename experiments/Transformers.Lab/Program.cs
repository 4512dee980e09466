using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Transformers.Lab;

public static class Program
{
    /// <summary>
    /// `bench [BenchmarkDotNet args]` runs the micro-benchmarks (e.g. `bench --filter *Attention*`).
    /// They run in-process: BenchmarkDotNet's generated projects do not import Directory.Build.targets,
    /// so they would miss the TorchSharp native fix-up.
    /// </summary>
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "bench")
        {
            var config = DefaultConfig.Instance
                .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance)
                    .WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(10))
                .WithOptions(ConfigOptions.DisableOptimizationsValidator);
            BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args[1..], config);
            return 0;
        }
        Console.Error.WriteLine("usage: Transformers.Lab bench [--filter PATTERN]");
        return 2;
    }
}
