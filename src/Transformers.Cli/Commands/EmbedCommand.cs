using System.CommandLine;
using System.Text.Json;
using TorchSharp;
using Transformers.Bert;

namespace Transformers.Cli.Commands;

/// <summary>`transformers embed`: sentence embeddings and their cosine-similarity matrix with the built-in all-MiniLM-L6-v2.</summary>
public static class EmbedCommand
{
    public static Command Create()
    {
        var sentences = new Argument<string[]>("sentences") { Description = "Sentences to embed (none: one per line on stdin).", Arity = ArgumentArity.ZeroOrMore };
        var json = new Option<bool>("--json") { Description = "Print the embeddings and the matrix as JSON instead of a table." };
        var runtime = new ModelRuntime();
        var cmd = new Command("embed", "Sentence embeddings (mean-pooled, L2-normalised) and their cosine-similarity matrix, with the built-in all-MiniLM-L6-v2.")
        {
            sentences, json,
        };
        runtime.AddTo(cmd);
        cmd.SetAction(parse =>
        {
            var input = parse.GetValue(sentences) is { Length: > 0 } given ? given : ReadStdinLines();
            if (input.Length == 0) throw new ArgumentException("no sentences: pass them as arguments or one per line on stdin");
            var device = runtime.Start(parse);
            using var model = BertWeights.LoadMiniLm();
            model.to(device);
            var embedder = new SentenceEmbedder(model, MiniLm.CreateIdEncoder());
            embedder.Truncated += (i, n) => Console.Error.WriteLine($"warning: sentence {i + 1} has {n} word pieces; truncated to {embedder.MaxTokens}");
            var vectors = embedder.Embed(input);
            var sim = SentenceEmbedder.CosineMatrix(vectors);
            if (parse.GetValue(json)) PrintJson(input, vectors, sim);
            else PrintTable(input, sim);
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// Stdin lines, every one a sentence (<see cref="TextLines"/>: lines end at \n or \r\n only; an empty line is an empty
    /// sentence, so embedding i is always line i); none when stdin is a terminal.
    /// </summary>
    private static string[] ReadStdinLines() => StandardStreams.InputRedirected() ? StandardStreams.InputLines().ToArray() : [];

    /// <summary>A sentence on one table row: control characters (a CR, a tab) shown as spaces.</summary>
    private static string Shown(string sentence) => string.Concat(sentence.Select(c => char.IsControl(c) ? ' ' : c));

    private static void PrintTable(string[] sentences, float[,] sim)
    {
        int n = sentences.Length;
        Console.WriteLine("model: all-MiniLM-L6-v2 (384-d, mean pooling, L2-normalised)");
        for (int i = 0; i < n; i++) Console.WriteLine($"  [{i + 1}] {Shown(sentences[i])}");
        Console.WriteLine();
        Console.WriteLine("cosine similarity");
        Console.WriteLine("      " + string.Concat(Enumerable.Range(1, n).Select(j => $"{"[" + j + "]",8}")));
        for (int i = 0; i < n; i++)
            Console.WriteLine($"{"[" + (i + 1) + "]",-6}" + string.Concat(Enumerable.Range(0, n).Select(j => $"{sim[i, j],8:F4}")));
    }

    private static void PrintJson(string[] sentences, float[][] vectors, float[,] sim)
    {
        var matrix = Enumerable.Range(0, sentences.Length).Select(i => Enumerable.Range(0, sentences.Length).Select(j => sim[i, j]).ToArray()).ToArray();
        var doc = new { model = "all-MiniLM-L6-v2", dimensions = vectors[0].Length, sentences, embeddings = vectors, similarity = matrix };
        Console.WriteLine(JsonSerializer.Serialize(doc));
    }
}
