using System.Text;

namespace Transformers.Tokenizer.Models;

/// <summary>
/// A WordPiece vocabulary in BERT's <c>vocab.txt</c> format: one token per line, the line number
/// (from 0) is the id. Input lines may end in <c>\n</c> or <c>\r\n</c>; output uses <c>\n</c>.
/// </summary>
public sealed class Vocabulary
{
    private readonly string[] _tokens;
    private readonly Dictionary<string, int> _ids;

    /// <summary>Builds a vocabulary from tokens in id order; rejects empty and duplicate tokens.</summary>
    public Vocabulary(IEnumerable<string> tokens, string sourceName = "vocabulary")
    {
        _tokens = tokens.ToArray();
        _ids = new Dictionary<string, int>(_tokens.Length, StringComparer.Ordinal);
        for (int id = 0; id < _tokens.Length; id++)
        {
            string token = _tokens[id];
            if (token.Length == 0) throw new InvalidDataException($"{sourceName}:{id + 1}: empty token");
            if (!_ids.TryAdd(token, id))
                throw new InvalidDataException($"{sourceName}:{id + 1}: duplicate token '{token}' (first at line {_ids[token] + 1})");
        }
        if (_tokens.Length == 0) throw new InvalidDataException($"{sourceName}: the vocabulary is empty");
    }

    public int Count => _tokens.Length;

    /// <summary>Tokens in id order.</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>Token to id (ordinal), for lookups by span use <see cref="Dictionary{TKey,TValue}.GetAlternateLookup{TAlternateKey}"/>.</summary>
    public IReadOnlyDictionary<string, int> Ids => _ids;

    public string this[int id] => _tokens[id];

    public bool TryGetId(string token, out int id) => _ids.TryGetValue(token, out id);

    /// <summary>Reads a <c>vocab.txt</c>; <paramref name="sourceName"/> names it in error messages.</summary>
    public static Vocabulary Load(Stream stream, string sourceName)
    {
        using var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: false), detectEncodingFromByteOrderMarks: true);
        var tokens = new List<string>();
        while (reader.ReadLine() is { } line) tokens.Add(line);
        return new Vocabulary(tokens, sourceName);
    }

    /// <summary>Reads a <c>vocab.txt</c> file.</summary>
    public static Vocabulary Load(string path)
    {
        using var stream = File.OpenRead(path);
        return Load(stream, path);
    }

    /// <summary>Writes one token per line, UTF-8 without BOM, <c>\n</c> line ends.</summary>
    public void Save(Stream stream)
    {
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true) { NewLine = "\n" };
        foreach (string token in _tokens) writer.WriteLine(token);
    }

    /// <summary>Removes <c>PATH.PID.tmp</c> files that a killed save left (their process is gone).</summary>
    private static void RemoveStaleTemps(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(dir)) return;
        foreach (var temp in Directory.GetFiles(dir, Path.GetFileName(path) + ".*.tmp"))
        {
            var pid = Path.GetFileName(temp)[(Path.GetFileName(path).Length + 1)..^4];
            if (int.TryParse(pid, out int id) && !IsRunning(id)) File.Delete(temp);
        }
    }

    private static bool IsRunning(int pid)
    {
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>Writes the file atomically (a temporary file of this process, then rename; removed if the write fails).</summary>
    public void Save(string path)
    {
        RemoveStaleTemps(path);
        string temp = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            using (var stream = File.Create(temp)) Save(stream);
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
