using System.CommandLine;
using Transformers.Cli.Commands;

namespace Transformers.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("transformers: build, train, compare and inspect sequence models on TorchSharp.");
        // One line per command group; each lives in Commands/<Name>Command.cs with a static Create().
        root.Subcommands.Add(EmbedCommand.Create());
        root.Subcommands.Add(VocabCommand.Create());
        root.Subcommands.Add(EvaluateCommand.Create());
        root.Subcommands.Add(TranslationCommands.Train());
        root.Subcommands.Add(TranslationCommands.Translate());
        root.Subcommands.Add(TranslationCommands.Demo());
        root.Subcommands.Add(ExportModelCommand.Create());
        root.Subcommands.Add(HeadsCommand.Create());
        root.Subcommands.Add(CorpusCommand.Create());
        // Our handler turns expected errors into one line; System.CommandLine's would print a stack trace.
        return CliErrors.Run(() => root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
    }
}
