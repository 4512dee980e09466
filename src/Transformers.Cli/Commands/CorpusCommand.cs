using System.CommandLine;
using Transformers.Data;

namespace Transformers.Cli.Commands;

/// <summary><c>transformers corpus export</c>: the train/dev/test split that <c>train</c> uses, as TSV and Moses files.</summary>
public static class CorpusCommand
{
    public static Command Create()
    {
        var cmd = new Command("corpus", "Work with translation corpora.");
        cmd.Subcommands.Add(CreateExport());
        return cmd;
    }

    private static Command CreateExport()
    {
        var data = new Option<string[]>("--data")
        {
            Description = "bundled, a directory from `corpus export`, or corpus files: .tsv (English<TAB>French), .po/.mo catalogs, or X.fr X.en (Moses); the same as `train --data`.",
            DefaultValueFactory = _ => ["bundled"],
            AllowMultipleArgumentsPerToken = true,
        }.ExistingCorpus();
        var output = new Option<string>("--out") { Description = "Directory to write into (created if missing).", Required = true }.OutputDirectory();
        var cmd = new Command("export",
            "Write the deterministic train/dev/test split that `train` uses as {train,dev,test}.tsv (French<TAB>English) and " +
            "{train,dev,test}.fr / .en (one sentence per line); UTF-8, no BOM, \\n line ends.") { data, output };
        cmd.SetAction(parse =>
        {
            var dir = parse.GetValue(output)!;
            // Checked before the corpus is read, so a mistyped --out fails at once.
            if (File.Exists(dir)) throw new ArgumentException($"--out {dir}: is an existing file; give a directory (created if missing)");
            var result = CorpusExport.Write(CorpusSplit.Load(parse.GetValue(data)!), dir);
            if (result.ReplacedSentences > 0)
                Console.Error.WriteLine($"warning: {result.ReplacedSentences:N0} sentence(s) held TAB, CR or LF, which a line cannot carry: " +
                                        $"{result.ReplacedCharacters:N0} character(s) written as spaces");
            if (result.TrimmedSentences > 0)
                Console.Error.WriteLine($"warning: {result.TrimmedSentences:N0} sentence(s) written without leading or trailing whitespace (the readers trim it)");
            if (result.DroppedPairs > 0)
                Console.Error.WriteLine($"warning: {result.DroppedPairs:N0} pair(s) left out: a side is empty once trimmed");
            foreach (var part in result.Parts)
                Console.WriteLine($"{CorpusExport.Stem(part.Part)}: {part.Pairs:N0} pairs -> {part.Tsv}, {part.Source}, {part.Target}");
            return 0;
        });
        return cmd;
    }
}
