using System.CommandLine;
using System.Diagnostics;
using Transformers.Tokenizer;
using Transformers.Tokenizer.Models;
using Transformers.Tokenizer.Training;
using Transformers.Training;

namespace Transformers.Cli.Commands;

/// <summary>
/// <c>transformers vocab train|encode</c>: train a WordPiece vocab.txt (with HF's tokenizer_config.json beside it), or
/// tokenize stdin with one.
/// </summary>
public static class VocabCommand
{
    public static Command Create()
    {
        var cmd = new Command("vocab", "Train a WordPiece vocabulary (vocab.txt) or encode text with one.");
        cmd.Subcommands.Add(CreateTrain());
        cmd.Subcommands.Add(CreateEncode());
        return cmd;
    }

    private static Option<bool> CasedOption() => new("--cased")
    {
        Description = "Keep case and accents (e.g. French); default is BERT-uncased (lowercase, strip accents).",
    };

    private static Command CreateTrain()
    {
        var input = new Option<string[]>("--input")
        {
            Description = "UTF-8 text files to learn from.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        }.ExistingFiles();
        var size = new Option<int>("--vocab-size", "--size") { Description = "Vocabulary size, special tokens included; at least 1.", DefaultValueFactory = _ => 30000 }.AtLeast(1);
        var minFrequency = new Option<int>("--min-frequency") { Description = "Never merge a pair seen fewer times; at least 1.", DefaultValueFactory = _ => 2 }.AtLeast(1);
        var limitAlphabet = new Option<int>("--limit-alphabet") { Description = "Keep at most this many distinct characters; at least 1.", DefaultValueFactory = _ => 1000 }.AtLeast(1);
        var threads = new Option<int>("--threads") { Description = "Threads for counting, at least 1 (the output does not depend on it).", DefaultValueFactory = _ => Environment.ProcessorCount }.AtLeast(1);
        var output = new Option<string>("--out") { Description = $"Where to write vocab.txt ({TokenizerConfig.FileName}, its options as HF writes them, goes beside it).", Required = true }.OutputFile();
        var cased = CasedOption();

        var cmd = new Command("train", "Learn a WordPiece vocabulary (HF-style: BPE merges over ##-prefixed pieces) from text files.");
        foreach (var option in new Option[] { input, size, minFrequency, limitAlphabet, threads, cased, output }) cmd.Options.Add(option);
        cmd.SetAction(parseResult =>
        {
            var bar = new ProgressBar();
            var options = new WordPieceTrainerOptions
            {
                VocabSize = parseResult.GetValue(size),
                MinFrequency = parseResult.GetValue(minFrequency),
                LimitAlphabet = parseResult.GetValue(limitAlphabet),
                MaxDegreeOfParallelism = parseResult.GetValue(threads),
                Tokenizer = parseResult.GetValue(cased) ? WordPieceOptions.Cased : WordPieceOptions.Uncased,
                Progress = bar,
            };
            var clock = Stopwatch.StartNew();
            var result = new WordPieceTrainer(options).TrainFromFiles(parseResult.GetValue(input)!);
            string path = parseResult.GetValue(output)!;
            result.Vocabulary.Save(path);
            string config = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, TokenizerConfig.FileName);
            TokenizerConfig.Write(config, options.Tokenizer);
            bar.Finish();
            double seconds = clock.Elapsed.TotalSeconds;
            Console.Error.WriteLine(
                $"{path}: {result.Vocabulary.Count} tokens ({result.AlphabetSize} characters, {result.Merges} merges) from " +
                $"{result.Bytes / 1e6:F1} MB, {result.Words} words ({result.DistinctWords} distinct) in {seconds:F1} s " +
                $"({result.Bytes / 1e6 / Math.Max(seconds, 1e-9):F1} MB/s)");
            Console.Error.WriteLine($"{config}: the tokenizer's options ({(options.Tokenizer.Normalizer.Lowercase ? "uncased" : "cased")})");
            if (result.InvalidUtf8Sequences > 0)
                Console.Error.WriteLine($"warning: {result.InvalidUtf8Sequences} invalid UTF-8 sequences were replaced by U+FFFD");
            return 0;
        });
        return cmd;
    }

    private static Command CreateEncode()
    {
        var vocab = new Option<string>("--vocab")
        {
            Description = $"A BERT vocab.txt ({TokenizerConfig.FileName} beside it, if any, gives the options), a directory holding them, or a translator checkpoint or run.",
            Required = true,
        }.ExistingPath();
        var cased = CasedOption();
        var cmd = new Command("encode", "Read lines from stdin (UTF-8; a line ends at \\n or \\r\\n, invalid bytes read as U+FFFD); " +
                                          "write 'tokens<TAB>ids' for each, one output line per input line (no [CLS]/[SEP]).");
        cmd.Options.Add(vocab);
        cmd.Options.Add(cased);
        cmd.SetAction(parseResult =>
        {
            var tokenizer = Load(parseResult.GetValue(vocab)!, parseResult.GetValue(cased));
            var buffer = new TokenBuffer();
            var stdout = new StringWriter { NewLine = "\n" };                     // written out in blocks: Console.Out flushes every write
            foreach (var line in StandardStreams.InputLines())
            {
                buffer.Clear();
                tokenizer.EncodeTo(line, buffer);
                var ids = buffer.Ids;
                for (int i = 0; i < ids.Length; i++)
                {
                    if (i > 0) stdout.Write(' ');
                    stdout.Write(tokenizer.IdToToken(ids[i]));
                }
                stdout.Write('\t');
                for (int i = 0; i < ids.Length; i++)
                {
                    if (i > 0) stdout.Write(' ');
                    stdout.Write(ids[i]);
                }
                stdout.WriteLine();
                if (stdout.GetStringBuilder().Length >= 1 << 16) Flush(stdout);
            }
            Flush(stdout);
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// The tokenizer at <paramref name="path"/>: a translator checkpoint or run (its saved tokenizer), a directory with
    /// vocab.txt, or a vocab.txt file. Options: <c>--cased</c> when given, else the tokenizer_config.json found, else uncased.
    /// </summary>
    private static WordPieceTokenizer Load(string path, bool cased)
    {
        WordPieceOptions? forced = cased ? WordPieceOptions.Cased : null;
        if (Directory.Exists(path) && !File.Exists(Path.Combine(path, "vocab.txt")))
        {
            var saved = Checkpoint.LoadTokenizer(path);                                   // a run: its best/ or last/
            return forced is null ? saved : WordPieceTokenizer.Create(saved.Vocabulary, forced);
        }
        string dir = Directory.Exists(path) ? path : Path.GetDirectoryName(Path.GetFullPath(path))!;
        string config = Path.Combine(dir, TokenizerConfig.FileName);
        var options = forced ?? (File.Exists(config) ? TokenizerConfig.Read(config) : WordPieceOptions.Uncased);
        return WordPieceTokenizer.FromVocabFile(Directory.Exists(path) ? Path.Combine(path, "vocab.txt") : path, options);
    }

    private static void Flush(StringWriter block)
    {
        Console.Out.Write(block.GetStringBuilder());
        Console.Out.Flush();
        block.GetStringBuilder().Clear();
    }
}
