using System.Text;

namespace Transformers.Cli.Tests;

/// <summary>
/// The files the CLI tests read, written once into a temporary directory: corpora good and bad, a run trained by
/// `train --preset tiny --max-steps 1` (about a second), checkpoints broken in each way a loader must explain,
/// hypothesis and reference files. <see cref="Expand"/> puts their paths into a test's arguments.
/// </summary>
public sealed class CliFiles : IDisposable
{
    public string Root { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "cli-tests-" + Guid.NewGuid().ToString("N"));

    private static readonly string[] French = ["le chat", "la maison", "un chien", "le fichier", "la fenêtre", "une page", "le document", "un livre"];
    private static readonly string[] English = ["the cat", "the house", "a dog", "the file", "the window", "a page", "the document", "a book"];

    public CliFiles()
    {
        Directory.CreateDirectory(Root);
        // 300 distinct English sentences: the hash split gives 284 train, 9 dev and 7 test pairs.
        Write("corpus.tsv", string.Concat(Enumerable.Range(0, 300).Select(i => $"{English[i % 8]} number {i}\t{French[i % 8]} numéro {i}\n")));
        Write("small.tsv", string.Concat(Enumerable.Range(0, 10).Select(i => $"{English[i % 8]} {i}\t{French[i % 8]} {i}\n")));
        Write("empty.tsv", "");
        Write("notab.tsv", "the cat\tle chat\nthe dog\tle chien\nno tab on this line\n");
        WriteBytes("badutf8.tsv", [.. Encoding.UTF8.GetBytes("the cat\tle chat\nthe dog\tle ch"), 0xC3, 0x28, .. Encoding.UTF8.GetBytes("ien\n")]);
        Write("corpus.csv", "the cat,le chat\n");
        Write("moses.fr", "le chat\nle chien\n");
        Write("moses.en", "the cat\nthe dog\nthe bird\n");
        Write("a-file", "not a directory\n");
        Directory.CreateDirectory(System.IO.Path.Combine(Root, "empty-dir"));
        Directory.CreateDirectory(System.IO.Path.Combine(Root, "split-dir"));
        Write(System.IO.Path.Combine("split-dir", "train.tsv"), "le chat\tthe cat\n");
        Write(System.IO.Path.Combine("split-dir", "dev.tsv"), "le chien\tthe dog\n");

        Write("hyp.txt", "the cat sat on the\rmat\nthe dog ran in the park\n");   // a lone CR stays inside line 1: 2 lines
        Write("ref.txt", "the cat sat on the mat\nthe dog ran in the park\n");
        Write("ref3.txt", "the cat sat on the mat\nthe dog ran in the park\na third line\n");
        WriteBytes("hyp-badutf8.txt", [.. Encoding.UTF8.GetBytes("the cat\nthe d"), 0xFF, .. Encoding.UTF8.GetBytes("og\n")]);

        var train = Cli.Run("train", "--data", PathOf("corpus.tsv"), "--out", PathOf("run"), "--preset", "tiny", "--max-steps", "1",
                            "--vocab-size", "100", "--threads", "1", "--dev-bleu-sentences", "4");
        if (train.ExitCode != 0) throw new InvalidOperationException("the fixture's training run failed: " + train);
        var best = PathOf("run/best");
        Write("vocab.txt", File.ReadAllText(System.IO.Path.Combine(best, "vocab.txt")));

        Checkpoint("no-weights", best).Delete("model.safetensors");
        Checkpoint("no-vocab", best).Delete("vocab.txt");
        var truncated = Checkpoint("truncated", best);
        var weights = File.ReadAllBytes(System.IO.Path.Combine(best, "model.safetensors"));
        File.WriteAllBytes(System.IO.Path.Combine(truncated.Dir, "model.safetensors"), weights[..(weights.Length / 2)]);
        var shortVocab = Checkpoint("short-vocab", best);
        File.WriteAllLines(System.IO.Path.Combine(shortVocab.Dir, "vocab.txt"), File.ReadAllLines(System.IO.Path.Combine(best, "vocab.txt")).Take(10));
        File.WriteAllText(System.IO.Path.Combine(Checkpoint("bad-json", best).Dir, "model.json"), "{ not json");
    }

    /// <summary>The path of a fixture file or directory.</summary>
    public string PathOf(string name) => System.IO.Path.Combine(Root, name);

    /// <summary>Arguments with every <c>{name}</c> replaced by the path of fixture file <c>name</c>.</summary>
    public string[] Expand(string commandLine) =>
        commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(ExpandText).ToArray();

    /// <summary><paramref name="text"/> with every <c>{name}</c> replaced by the path of fixture file <c>name</c>.</summary>
    public string ExpandText(string text) => System.Text.RegularExpressions.Regex.Replace(text, @"\{([^}]+)\}", m => PathOf(m.Groups[1].Value));

    public void Dispose()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
    }

    private void Write(string name, string text) => File.WriteAllText(PathOf(name), text, new UTF8Encoding(false));

    private void WriteBytes(string name, byte[] bytes) => File.WriteAllBytes(PathOf(name), bytes);

    private sealed record CopiedCheckpoint(string Dir)
    {
        public void Delete(string file) => File.Delete(System.IO.Path.Combine(Dir, file));
    }

    /// <summary>A copy of checkpoint <paramref name="from"/> (model.json, weights, vocabulary) to break.</summary>
    private CopiedCheckpoint Checkpoint(string name, string from)
    {
        var dir = PathOf(name);
        Directory.CreateDirectory(dir);
        foreach (var f in new[] { "model.json", "model.safetensors", "vocab.txt" })
            File.Copy(System.IO.Path.Combine(from, f), System.IO.Path.Combine(dir, f));
        return new CopiedCheckpoint(dir);
    }
}
