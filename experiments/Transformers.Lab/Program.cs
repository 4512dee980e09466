using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Transformers.Lab.Runner;
using Transformers.Lab.Translation;
using Transformers.Translation;

namespace Transformers.Lab;

public static class Program
{
    private const string Usage =
        "usage: Transformers.Lab all|<experiment> [--quick] [--out DIR] [--threads N]\n" +
        "       Transformers.Lab list | readme\n" +
        "       Transformers.Lab translators RUN_DIR|MODEL_DIR|builtin... [--out DIR] [--beam N] [--limit N] [--samples N] [--title T] [--threads N]\n" +
        "       Transformers.Lab curves --out FILE.png [--title T] NAME=RUN_DIR|REFERENCE.json...\n" +
        "       Transformers.Lab scalar-gc [--fence] [--seconds N] [--garbage KB]\n" +
        "       Transformers.Lab reference-workloads [--rounds N] [--lengths 16,32,64,128] [--models a,b] [--threads N] [--out DIR] [--reference DIR] [--python PATH] [--ours-only]\n" +
        "       Transformers.Lab bench [--filter PATTERN]";

    /// <summary>
    /// `all` or `&lt;experiment&gt;` runs the lab's experiments (`--quick`: tiny sizes; `--out DIR`: results root, default
    /// experiments/results of this checkout; `--threads N`: libtorch threads, default 1 with --quick, else all cores).
    /// `list` names the experiments. `bench [BenchmarkDotNet args]` runs the micro-benchmarks (e.g. `bench --filter *Attention*`).
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
        if (args.Length == 3 && args[0] == "replot" && args[1] == "throughput")
        {
            Experiments.Throughput.Replot(args[2]);
            return 0;
        }
        if (args.Length > 0 && args[0] == "translators")
            return Translators(args[1..]);
        if (args.Length > 0 && args[0] == "reference-workloads")
            return Experiments.ReferenceWorkloads.Run(args[1..]);
        if (args.Length > 0 && args[0] == "scalar-gc")
            return ScalarGcStress.Run(args[1..]);
        if (args.Length > 0 && args[0] == "curves")
            return DevBleuCurves.Run(args[1..]);
        if (args.Length == 1 && args[0] == "readme")
        {
            LabRunner.WriteReadme(DefaultOutputRoot());                            // after adding a hand-made report
            return 0;
        }
        if (args.Length > 0 && args[0] == "list")
        {
            foreach (var e in LabRunner.Experiments) Console.WriteLine($"{e.Name}: {e.Claim}");
            return 0;
        }
        if (args.Length == 0 || args[0].StartsWith('-'))
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        try
        {
            var experiments = LabRunner.Select(args[0]);
            var options = ParseOptions(args[1..]);
            LabRunner.Run(experiments, options, Console.Out);
            Console.WriteLine($"results in {options.OutputRoot}");
            return 0;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }
    }

    /// <summary>
    /// `translators RUN... [--out DIR] [--beam N] [--limit N] [--threads N]`: issue 6's comparison from finished runs;
    /// exported model directories and `builtin` (the built-in translator) may stand beside them.
    /// </summary>
    private static int Translators(string[] args)
    {
        var runs = new List<string>();
        string output = Path.Combine(DefaultOutputRoot(), "translators");
        int beam = 4, limit = 0, samples = 8, threads = Environment.ProcessorCount;
        string? title = null;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                int Int() => int.TryParse(Value(), out var n) && n >= 0 ? n : throw new ArgumentException($"{args[i - 1]} needs a non-negative integer");
                switch (args[i])
                {
                    case "--out": output = Value(); break;
                    case "--beam": beam = Int(); break;
                    case "--limit": limit = Int(); break;
                    case "--samples": samples = Int(); break;
                    case "--title": title = Value(); break;
                    case "--threads": threads = Math.Max(1, Int()); break;
                    default:
                        if (args[i].StartsWith('-')) throw new ArgumentException($"unknown option '{args[i]}'");
                        runs.Add(args[i]);
                        break;
                }
            }
            TorchRuntime.EnsureLoaded();
            TorchSharp.torch.set_num_threads(threads);
            var options = new TranslatorComparison.Options(beam, limit, samples);
            if (title is not null) options = options with { Title = title };
            TranslatorComparison.Run(runs, Path.GetFullPath(output), options, MachineStamp.Take(threads), Console.Out);
            Console.WriteLine($"results in {output}");
            return 0;
        }
        catch (BuiltInTranslatorMissingException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine("usage: Transformers.Lab translators RUN_DIR|MODEL_DIR|builtin... [--out DIR] [--beam N] [--limit N] [--samples N] [--title T] [--threads N]");
            return 2;
        }
    }

    private static LabOptions ParseOptions(string[] args)
    {
        bool quick = false;
        string? output = null;
        int? threads = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--quick": quick = true; break;
                case "--out": output = Value(); break;
                case "--threads":
                    threads = int.TryParse(Value(), out var n) && n > 0 ? n : throw new ArgumentException("--threads needs a positive integer");
                    break;
                default: throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }
        return new LabOptions(quick, Path.GetFullPath(output ?? DefaultOutputRoot()), threads ?? (quick ? 1 : Environment.ProcessorCount));
    }

    /// <summary>experiments/results of the checkout containing the current folder (found by Transformers.sln), else ./experiments/results.</summary>
    internal static string DefaultOutputRoot()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Transformers.sln")))
                return Path.Combine(dir.FullName, "experiments", "results");
        return Path.Combine("experiments", "results");
    }
}
