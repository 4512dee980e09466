using System.CommandLine;
using System.CommandLine.Invocation;
using Transformers.Cli.Commands;

namespace Transformers.Cli;

public static class Program
{
    public static int Main(string[] args) => CliErrors.Run(() =>
    {
        var root = new RootCommand("transformers: build, train, compare and inspect sequence models on TorchSharp. " +
                                   $"Exit codes: 0 done, {CliErrors.Failed} error (one line on stderr), {CliErrors.Diverged} training diverged, " +
                                   $"{CliErrors.Unexpected} unexpected error ({CliErrors.DebugVariable}=1 prints its stack trace), 130 interrupted.");
        // One line per command group; each lives in Commands/<Name>Command.cs with a static Create().
        root.Subcommands.Add(EmbedCommand.Create());
        root.Subcommands.Add(VocabCommand.Create());
        root.Subcommands.Add(EvaluateCommand.Create());
        root.Subcommands.Add(TrainCommands.Train());
        root.Subcommands.Add(TranslateCommand.Create());
        root.Subcommands.Add(TrainCommands.Demo());
        root.Subcommands.Add(ExportModelCommand.Create());
        root.Subcommands.Add(HeadsCommand.Create());
        root.Subcommands.Add(CorpusCommand.Create());
        root.Subcommands.Add(BertCommands.Pretrain());
        root.Subcommands.Add(BertCommands.FillMaskCommand());
        root.Subcommands.Add(ClassifierCommands.Finetune());
        root.Subcommands.Add(ClassifierCommands.Classify());
        root.Subcommands.Add(ServeCommand.Create());
        var parse = root.Parse(args);
        // Parse errors (options are checked here, before any work: see OptionRules) as one line each, like every other error.
        if (parse.Action is ParseErrorAction)
        {
            foreach (var error in parse.Errors) Console.Error.WriteLine($"error: {error.Message}");
            return CliErrors.Failed;
        }
        // Our funnel turns exceptions into one line; System.CommandLine's would print a stack trace.
        return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
    });
}
