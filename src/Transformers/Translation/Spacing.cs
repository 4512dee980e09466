using System.Globalization;
using System.Text;
using Transformers.Tokenizer;
using Transformers.Tokenizer.Processing;

namespace Transformers.Translation;

/// <summary>
/// Restores the spaces WordPiece forgets. BERT's pre-tokenizer splits at whitespace and at every punctuation mark, so
/// "%s:" and "% s :" encode to the same tokens and a plain decoder cannot tell which one was written. This model learns,
/// from the training targets, how often each pair of adjacent words was written glued (no space between them), and
/// glues them when that happened more often than not: first for the two words themselves (seen at least
/// <see cref="MinCount"/> times), else for their classes (a punctuation mark stands for itself, any other word is
/// "&lt;w&gt;"), else a space as the plain decoder writes. Saved as a TSV file beside the vocabulary.
/// </summary>
public sealed class SpacingModel
{
    public const string FileName = "spacing.tsv";
    /// <summary>Fewer observations of a pair than this and the decision backs off to the classes.</summary>
    public const int MinCount = 3;
    private const string Word = "<w>";

    private readonly Dictionary<(string Left, string Right), (int Glued, int Total)> counts;

    private SpacingModel(Dictionary<(string, string), (int, int)> counts) => this.counts = counts;

    /// <summary>Pairs of adjacent words (and of classes) observed.</summary>
    public int Count => counts.Count;

    /// <summary>Counts glued and spaced neighbours in <paramref name="sentences"/> as <paramref name="tokenizer"/> splits them.</summary>
    public static SpacingModel Learn(IEnumerable<string> sentences, WordPieceTokenizer tokenizer)
    {
        var counts = new Dictionary<(string, string), (int, int)>();
        var options = new BertEncodeOptions { AddSpecialTokens = false };
        string prefix = tokenizer.Model.ContinuingSubwordPrefix;
        foreach (var sentence in sentences)
        {
            var encoding = tokenizer.Encode(sentence, null, options);
            var words = Words(encoding.Ids.Select(id => tokenizer.Vocabulary[id]), prefix, encoding.Offsets);
            for (int i = 0; i + 1 < words.Count; i++)
            {
                bool glued = words[i].End == words[i + 1].Start;
                var exact = (words[i].Text, words[i + 1].Text);
                var byClass = (Class(words[i].Text), Class(words[i + 1].Text));
                Add(counts, exact, glued);
                if (byClass != exact) Add(counts, byClass, glued);                     // two punctuation marks are their own classes: count once
            }
        }
        return new SpacingModel(counts);
    }

    private static void Add(Dictionary<(string, string), (int, int)> counts, (string, string) key, bool glued)
    {
        var (g, t) = counts.GetValueOrDefault(key);
        counts[key] = (g + (glued ? 1 : 0), t + 1);
    }

    /// <summary>A word made only of punctuation or symbols stands for itself; any other word is &lt;w&gt;.</summary>
    private static string Class(string word) => word.Any(char.IsLetterOrDigit) ? Word : word;

    private sealed record Span(string Text, int Start, int End);

    /// <summary>Tokens to words: a continuation piece joins the word before it.</summary>
    private static List<Span> Words(IEnumerable<string> tokens, string prefix, IReadOnlyList<TokenOffset>? offsets)
    {
        var words = new List<Span>();
        int i = 0;
        foreach (var token in tokens)
        {
            var (start, end) = offsets is null ? (0, 0) : (offsets[i].Start, offsets[i].End);
            if (words.Count > 0 && token.StartsWith(prefix, StringComparison.Ordinal) && token.Length > prefix.Length)
                words[^1] = words[^1] with { Text = words[^1].Text + token[prefix.Length..], End = end };
            else
                words.Add(new Span(token, start, end));
            i++;
        }
        return words;
    }

    /// <summary>Whether <paramref name="left"/> and <paramref name="right"/> are written without a space between them.</summary>
    public bool Glue(string left, string right)
    {
        if (counts.TryGetValue((left, right), out var exact) && exact.Total >= MinCount) return 2 * exact.Glued > exact.Total;
        if (counts.TryGetValue((Class(left), Class(right)), out var byClass) && byClass.Total >= MinCount) return 2 * byClass.Glued > byClass.Total;
        return false;
    }

    /// <summary>Token ids to text: special tokens dropped, pieces joined into words, words joined as learned.</summary>
    public string Decode(IEnumerable<int> ids, WordPieceTokenizer tokenizer)
    {
        var special = tokenizer.SpecialTokenIds;
        var vocab = tokenizer.Vocabulary;
        var tokens = ids.Where(id => !special.Contains(id)).Select(id => (uint)id < (uint)vocab.Count ? vocab[id] : vocab[tokenizer.Model.UnknownId]);
        var words = Words(tokens, tokenizer.Model.ContinuingSubwordPrefix, null);
        var text = new StringBuilder();
        for (int i = 0; i < words.Count; i++)
        {
            if (i > 0 && !Glue(words[i - 1].Text, words[i].Text)) text.Append(' ');
            text.Append(words[i].Text);
        }
        return text.ToString();
    }

    /// <summary>
    /// The same decisions from fewer pairs: only those seen at least <see cref="MinCount"/> times, since <see cref="Glue"/>
    /// backs off past any other (a shipped model keeps about a fifth of the lines of its run's).
    /// </summary>
    public SpacingModel Pruned() => new(counts.Where(kv => kv.Value.Total >= MinCount).ToDictionary(kv => kv.Key, kv => kv.Value));

    /// <summary>Writes "left TAB right TAB glued TAB total" lines, atomically (temp file + rename).</summary>
    public void Save(string path) => AtomicFile.Write(path, temp =>
    {
        using var writer = new StreamWriter(temp, false, new UTF8Encoding(false));
        writer.WriteLine("# left\tright\tglued\ttotal (WordPiece words of the training targets; <w> = any word with a letter or digit)");
        foreach (var ((left, right), (glued, total)) in counts.OrderBy(kv => kv.Key.Left, StringComparer.Ordinal).ThenBy(kv => kv.Key.Right, StringComparer.Ordinal))
            writer.WriteLine($"{left}\t{right}\t{glued}\t{total}");
    });

    /// <summary>Reads a file written by <see cref="Save"/>; a malformed line is an error naming the file and line.</summary>
    public static SpacingModel Load(string path)
    {
        var counts = new Dictionary<(string, string), (int, int)>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var f = line.Split('\t');
            if (f.Length != 4 || !int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out int glued)
                || !int.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out int total) || glued > total)
                throw new InvalidDataException($"{path}:{lineNumber}: expected 'left<TAB>right<TAB>glued<TAB>total' with glued <= total, got '{line}'");
            counts[(f[0], f[1])] = (glued, total);
        }
        return new SpacingModel(counts);
    }

    /// <summary>The spacing model of a run or checkpoint directory: DIR/spacing.tsv, else the parent's (runs keep it at their root); null if none.</summary>
    public static SpacingModel? Find(string directory) => FindFile(directory) is { } path ? Load(path) : null;

    /// <summary>
    /// The path <see cref="Find"/> reads: DIR/spacing.tsv, else its parent's, else its grandparent's (a run's
    /// <c>history/step-N</c> checkpoints); null if none exists.
    /// </summary>
    public static string? FindFile(string directory)
    {
        string? dir = Path.TrimEndingDirectorySeparator(directory);
        for (int up = 0; up < 3 && dir is not null; up++, dir = Path.GetDirectoryName(dir))
            if (File.Exists(Path.Combine(dir, FileName))) return Path.Combine(dir, FileName);
        return null;
    }
}
