using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.Json;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Transformers.Cli;
using Transformers.Lab.Experiments;
using Transformers.Lab.Runner;
using Transformers.Lab.Translation;
using Transformers.Translation;

namespace Transformers.Lab;

/// <summary>
/// The lab's command line (System.CommandLine, as the toolkit's CLI): one command per experiment and <c>all</c>, and the
/// tools that build reports from finished runs. Exit codes: 0 done, 1 an error (one line on stderr), 2 a command line
/// that does not parse (its errors, one line each).
/// </summary>
public static class Program
{
    public const int Failed = 1, BadCommandLine = 2;

    public static int Main(string[] args)
    {
        var parse = Commands().Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors) Console.Error.WriteLine($"error: {error.Message}");
            Console.Error.WriteLine("(Transformers.Lab --help lists the commands)");
            return BadCommandLine;
        }
        return parse.Invoke();
    }

    /// <summary>Every command of the lab, for <see cref="Main"/> and for tests of the command line.</summary>
    public static RootCommand Commands()
    {
        var root = new RootCommand("The lab: experiments that measure the classic claims about sequence models, and reports from finished training runs. " +
                                   "Results go to experiments/results of this checkout unless --out says otherwise.");
        root.Subcommands.Add(ExperimentCommand("all", "Run every experiment (each one's report, and the results README).", LabRunner.Experiments));
        foreach (var e in LabRunner.Experiments) root.Subcommands.Add(ExperimentCommand(e.Name, e.Claim, [e]));
        root.Subcommands.Add(List());
        root.Subcommands.Add(Readme());
        root.Subcommands.Add(Translators());
        root.Subcommands.Add(Curves());
        root.Subcommands.Add(Replot());
        root.Subcommands.Add(ScalarGc());
        root.Subcommands.Add(ReferenceWorkloadsCommand());
        root.Subcommands.Add(MiniLmProfileCommand());
        root.Subcommands.Add(GemmPathsCommand());
        root.Subcommands.Add(DecodeLayoutCommand());
        root.Subcommands.Add(LstmPathsCommand());
        root.Subcommands.Add(Bench());
        return root;
    }

    private static Option<int> ThreadsOption(string description, int fallback) =>
        new Option<int>("--threads") { Description = description, DefaultValueFactory = _ => fallback }.AtLeast(1);

    private static Command ExperimentCommand(string name, string description, IReadOnlyList<IExperiment> experiments)
    {
        var quick = new Option<bool>("--quick") { Description = "Tiny sizes: seconds instead of minutes (what the tests run)." };
        var output = new Option<string?>("--out") { Description = "Results root (default: experiments/results of this checkout)." };
        var threads = new Option<int?>("--threads") { Description = "libtorch threads, at least 1 (default: 1 with --quick, else every core)." }.AtLeast(1);
        var folder = new Option<string?>("--dir")
        {
            Description = "Folder under the results root for this experiment's results (default: its name), e.g. throughput-1-thread beside throughput. One experiment only.",
        };
        folder.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
                if (token.Value.Length == 0 || token.Value is "." or ".." || token.Value.IndexOfAny(['/', '\\']) >= 0)
                    r.AddError($"--dir {token.Value}: a folder name under the results root, without '/'");
        });
        var cmd = new Command(name, description) { quick, output, threads };
        if (experiments.Count == 1) cmd.Options.Add(folder);
        cmd.SetAction(parse => Guarded(() =>
        {
            bool isQuick = parse.GetValue(quick);
            var options = new LabOptions(isQuick, Path.GetFullPath(parse.GetValue(output) ?? DefaultOutputRoot()),
                                         parse.GetValue(threads) ?? (isQuick ? 1 : Environment.ProcessorCount), experiments.Count == 1 ? parse.GetValue(folder) : null);
            LabRunner.Run(experiments, options, Console.Out);
            Console.WriteLine($"results in {options.OutputRoot}");
            return 0;
        }));
        return cmd;
    }

    private static Command List()
    {
        var cmd = new Command("list", "Name every experiment and the claim it tests.");
        cmd.SetAction(_ =>
        {
            foreach (var e in LabRunner.Experiments) Console.WriteLine($"{e.Name}: {e.Claim}");
            return 0;
        });
        return cmd;
    }

    private static Command Readme()
    {
        var cmd = new Command("readme", "Rewrite experiments/results/README.md from the experiments' summaries (after adding a hand-made report).");
        cmd.SetAction(_ => Guarded(() =>
        {
            LabRunner.WriteReadme(DefaultOutputRoot());
            return 0;
        }));
        return cmd;
    }

    /// <summary>Issue 12's comparison from finished runs; exported model directories and `builtin` may stand beside them.</summary>
    private static Command Translators()
    {
        var runs = new Argument<string[]>("runs") { Description = "Run directories, exported model directories, or builtin.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "Report directory.", DefaultValueFactory = _ => Path.Combine(DefaultOutputRoot(), "translators") };
        var beam = new Option<int>("--beam") { Description = "Beam width of the beam rows, at least 1.", DefaultValueFactory = _ => 4 }.AtLeast(1);
        var limit = new Option<int>("--limit") { Description = "Test sentences to score (0: all).", DefaultValueFactory = _ => 0 }.AtLeast(0);
        var samples = new Option<int>("--samples") { Description = "Sample translations in the report.", DefaultValueFactory = _ => 8 }.AtLeast(0);
        var title = new Option<string?>("--title") { Description = "The report's title." };
        var threads = ThreadsOption("libtorch threads.", Environment.ProcessorCount);
        var cmd = new Command("translators", "Score finished translators on the test split (greedy and beam; BLEU and chrF with signatures; decoding speed) and write a report.")
        {
            runs, output, beam, limit, samples, title, threads,
        };
        cmd.SetAction(parse => Guarded(() =>
        {
            int n = parse.GetValue(threads);
            TorchRuntime.EnsureLoaded();
            TorchSharp.torch.set_num_threads(n);
            var options = new TranslatorComparison.Options(parse.GetValue(beam), parse.GetValue(limit), parse.GetValue(samples));
            if (parse.GetValue(title) is { } t) options = options with { Title = t };
            var dir = Path.GetFullPath(parse.GetValue(output)!);
            TranslatorComparison.Run(parse.GetValue(runs)!, dir, options, MachineStamp.Take(n), Console.Out);
            Console.WriteLine($"results in {dir}");
            return 0;
        }));
        return cmd;
    }

    private static Command Curves()
    {
        var series = new Argument<string[]>("series") { Description = "NAME=PATH: a run directory (its train.jsonl) or a reference result JSON.", Arity = ArgumentArity.OneOrMore };
        series.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
                if (token.Value.IndexOf('=') <= 0) r.AddError($"'{token.Value}': expected NAME=PATH (a run directory or a reference JSON)");
        });
        var output = new Option<string>("--out") { Description = "The PNG to write.", Required = true }.OutputFile();
        var title = new Option<string?>("--title") { Description = "The plot's title." };
        var table = new Option<string?>("--table") { Description = "Also write a markdown table of the runs (steps, tokens, speed, dev BLEU at each evaluation, peak RSS) to this file." };
        var cmd = new Command("curves", "Draw dev BLEU over training time of finished runs (ours and the reference's) as one PNG.") { series, output, title, table };
        cmd.SetAction(parse => Guarded(() =>
        {
            var named = parse.GetValue(series)!.Select(s => (Name: s[..s.IndexOf('=')], Path: s[(s.IndexOf('=') + 1)..])).ToList();
            DevBleuCurves.Run(parse.GetValue(output)!, parse.GetValue(title), named, parse.GetValue(table));
            return 0;
        }));
        return cmd;
    }

    private static Command Replot()
    {
        var directory = new Argument<string>("directory") { Description = "The throughput experiment's results directory (its results.json)." };
        directory.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
                if (!File.Exists(Path.Combine(token.Value, LabRunner.ResultsFile))) r.AddError($"{token.Value}: no {LabRunner.ResultsFile} in it");
        });
        var cmd = new Command("replot", "Redraw a finished experiment's plots from its results.json without measuring again (throughput only).");
        var throughput = new Command("throughput", "Redraw the throughput experiment's plots.") { directory };
        throughput.SetAction(parse => Guarded(() =>
        {
            Throughput.Replot(parse.GetValue(directory)!);
            return 0;
        }));
        cmd.Subcommands.Add(throughput);
        return cmd;
    }

    private static Command ScalarGc()
    {
        var fence = new Option<bool>("--fence") { Description = "Hold collections during the parallel work (GcFence), as the trainer does." };
        var gate = new Option<bool>("--gate") { Description = "Hold the finalizer thread instead (FinalizerGate; collections run), the alternative being measured." };
        var seconds = new Option<double>("--seconds") { Description = "How long to run, in seconds.", DefaultValueFactory = _ => 60 }.Within(0, 1e6, minOpen: true);
        var garbage = new Option<int>("--garbage") { Description = "KB of managed garbage per expression (how often collections come).", DefaultValueFactory = _ => 64 }.AtLeast(1);
        var cmd = new Command("scalar-gc", "Stress the hazard GcFence guards against: two threads of tensor arithmetic with implicit Scalars while collections come often.")
        {
            fence, gate, seconds, garbage,
        };
        cmd.SetAction(parse => ScalarGcStress.Run(parse.GetValue(fence), parse.GetValue(seconds), parse.GetValue(garbage), parse.GetValue(gate)));
        return cmd;
    }

    private static Command ReferenceWorkloadsCommand()
    {
        var rounds = new Option<int>("--rounds") { Description = "Rounds, each the reference then ours.", DefaultValueFactory = _ => 2 }.AtLeast(1);
        var lengths = new Option<string>("--lengths") { Description = "Sequence lengths, comma-separated.", DefaultValueFactory = _ => "16,32,64,128" };
        lengths.Validators.Add(r =>
        {
            foreach (var part in r.GetValueOrDefault<string>()?.Split(',') ?? [])
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
                    r.AddError($"--lengths: '{part}' is not a length (a positive integer)");
        });
        var models = new Option<string>("--models") { Description = $"Models, comma-separated, of: {string.Join(", ", ReferenceWorkloads.AllModels)}.", DefaultValueFactory = _ => string.Join(",", ReferenceWorkloads.AllModels) };
        models.Validators.Add(r =>
        {
            foreach (var m in r.GetValueOrDefault<string>()?.Split(',') ?? [])
                if (!ReferenceWorkloads.AllModels.Contains(m)) r.AddError($"--models: unknown model '{m}' (known: {string.Join(", ", ReferenceWorkloads.AllModels)})");
        });
        var threads = ThreadsOption("Threads of each side.", 2);
        var output = new Option<string?>("--out") { Description = "Report directory (default: experiments/results/reference-workloads)." };
        var reference = new Option<string>("--reference") { Description = "The plain PyTorch reference's folder.", DefaultValueFactory = _ => "../shared/reference" };
        var python = new Option<string>("--python") { Description = "The Python that has torch.", DefaultValueFactory = _ => "/usr/bin/python3" };
        var oursOnly = new Option<bool>("--ours-only") { Description = "Measure ours alone (no reference)." };
        var cmd = new Command("reference-workloads", "Training and greedy-decoding throughput of ours and the plain PyTorch reference on identical workloads, in alternating rounds.")
        {
            rounds, lengths, models, threads, output, reference, python, oursOnly,
        };
        cmd.SetAction(parse => Guarded(() => ReferenceWorkloads.Run(new ReferenceWorkloads.Options(
            parse.GetValue(rounds),
            parse.GetValue(lengths)!.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
            parse.GetValue(models)!.Split(','),
            parse.GetValue(threads),
            parse.GetValue(output),
            parse.GetValue(reference)!,
            parse.GetValue(python)!,
            parse.GetValue(oursOnly)))));
        return cmd;
    }

    private static Command MiniLmProfileCommand() => ProbeCommand("minilm-profile",
        "Where a MiniLM forward spends its time: each operation of a layer timed alone at 1 × 16 and 32 × 128, beside the whole forward and ONNX Runtime's.",
        "Intra-op threads of both ours and ONNX Runtime.", Transformers.Lab.Bert.MiniLmProfile.Run);

    private static Command GemmPathsCommand() => ProbeCommand("gemm-paths",
        "One float32 linear layer at MiniLM's shapes through libtorch's CPU routes: oneMKL (the default) and oneDNN.",
        "Intra-op threads.", Transformers.Lab.Bert.GemmPaths.Run);

    private static Command DecodeLayoutCommand() => ProbeCommand("decode-layout",
        "The built-in translator decoding test sentences with its weights as stored and re-laid input-major: one sentence at a time and 64 per batch, greedy and beam 4.",
        "Intra-op threads.", Transformers.Lab.Translation.DecodeLayout.Run);

    private static Command LstmPathsCommand() => ProbeCommand("lstm-paths",
        "A recurrent decoding step and a recurrent sequence (LSTM, GRU) through libtorch's CPU routes: nn.LSTM with and without oneDNN, and the cell equations.",
        "Intra-op threads.", Transformers.Lab.Recurrent.LstmPaths.Run);

    /// <summary>A measurement that prints a markdown report: <c>NAME [--threads N] [--out FILE]</c>.</summary>
    private static Command ProbeCommand(string name, string description, string threadsDescription, Func<int, string?, int> run)
    {
        var threads = ThreadsOption(threadsDescription, 2);
        var output = new Option<string?>("--out") { Description = "Also write the report (markdown) to this file." };
        var cmd = new Command(name, description) { threads, output };
        cmd.SetAction(parse => Guarded(() => run(parse.GetValue(threads), parse.GetValue(output))));
        return cmd;
    }

    /// <summary>
    /// BenchmarkDotNet's suites, in-process: its generated projects would not import Directory.Build.targets and so
    /// would miss the TorchSharp native fix-up. Everything after `bench` goes to BenchmarkDotNet (e.g. --filter '*Cell*').
    /// </summary>
    private static Command Bench()
    {
        var cmd = new Command("bench", "Run the BenchmarkDotNet micro-benchmarks; the remaining arguments go to BenchmarkDotNet (e.g. --filter '*Attention*').")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        cmd.SetAction(parse =>
        {
            var config = DefaultConfig.Instance
                .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(10))
                .WithOptions(ConfigOptions.DisableOptimizationsValidator);
            BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(parse.UnmatchedTokens.ToArray(), config);
            return 0;
        });
        return cmd;
    }

    /// <summary>Runs a command's work; an error it can explain becomes one line and exit code 1.</summary>
    private static int Guarded(Func<int> work)
    {
        try
        {
            return work();
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or JsonException or BuiltInTranslatorMissingException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return Failed;
        }
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
