using System.Text;

namespace Transformers.Data;

/// <summary>
/// Reads gettext text catalogs (.po): <c>msgctxt</c>, <c>msgid</c>, <c>msgid_plural</c>,
/// <c>msgstr</c> / <c>msgstr[n]</c>, strings continued over several quoted lines, C escapes
/// (<c>\n \t \r \" \\ \a \b \f \v</c>, octal, <c>\x</c> hex), <c>#, fuzzy</c> flags. Obsolete
/// entries (<c>#~</c>) and other comments are ignored. Fuzzy entries are returned with
/// <see cref="GettextEntry.Fuzzy"/> set; the corpus readers skip them.
/// </summary>
public static class PoFile
{
    public static GettextCatalog Read(string path)
    {
        if (!System.IO.File.Exists(path)) throw new FileNotFoundException($"gettext catalog not found: {path}", path);
        var lines = Utf8Lines.Read(path).Select(l => l.Error is null ? l : throw l.Error).ToList();
        return Parse(lines, path);
    }

    /// <summary>Parses .po text; <paramref name="name"/> is used in error messages.</summary>
    public static GettextCatalog Parse(string text, string name) =>
        Parse(text.Split('\n').Select((line, i) => new NumberedLine(i + 1, line.TrimEnd('\r'))).ToList(), name);

    private static GettextCatalog Parse(IReadOnlyList<NumberedLine> lines, string name)
    {
        if (lines.All(l => l.Text.Trim().Length == 0)) throw new CorpusFormatException(name, "", null, "file is empty");

        var entries = new List<GettextEntry>();
        var current = new EntryBuilder();
        StringBuilder? target = null; // the string that continuation lines append to

        foreach (var (number, raw, _) in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0)
            {
                target = null;
                continue;
            }
            if (line.StartsWith('#'))
            {
                target = null;
                if (line.StartsWith("#,") && line[2..].Split(',').Any(f => f.Trim() == "fuzzy"))
                {
                    Flush(current, entries, name);
                    current = new EntryBuilder { Fuzzy = true, StartLine = number };
                }
                continue;
            }
            if (line.StartsWith('"'))
            {
                if (target is null)
                    throw new CorpusFormatException(name, $"line {number}", null, "a quoted string with no keyword before it");
                target.Append(ParseQuoted(line, name, number));
                continue;
            }

            var space = line.IndexOfAny([' ', '\t']);
            if (space < 0) throw new CorpusFormatException(name, $"line {number}", line, "a keyword without a string");
            var keyword = line[..space];
            var value = new StringBuilder(ParseQuoted(line[space..].TrimStart(), name, number, keyword));
            switch (keyword)
            {
                case "msgctxt":
                    if (current.HasMsgid) { Flush(current, entries, name); current = new EntryBuilder(); }
                    current.StartLine ??= number;
                    current.Context = value;
                    break;
                case "msgid":
                    if (current.HasMsgid) { Flush(current, entries, name); current = new EntryBuilder(); }
                    current.StartLine ??= number;
                    current.Id = value;
                    break;
                case "msgid_plural":
                    RequireMsgid(current, name, number, keyword);
                    current.PluralId = value;
                    break;
                case "msgstr":
                    RequireMsgid(current, name, number, keyword);
                    current.Translations.Add(value);
                    break;
                default:
                    if (!keyword.StartsWith("msgstr[") || !keyword.EndsWith(']')
                        || !int.TryParse(keyword.AsSpan(7, keyword.Length - 8), out var index))
                        throw new CorpusFormatException(name, $"line {number}", keyword, "unknown keyword");
                    RequireMsgid(current, name, number, keyword);
                    if (index != current.Translations.Count)
                        throw new CorpusFormatException(name, $"line {number}", keyword,
                            $"plural form {index} out of order (expected msgstr[{current.Translations.Count}])");
                    current.Translations.Add(value);
                    break;
            }
            target = value;
        }
        Flush(current, entries, name);
        return new GettextCatalog(name, entries);
    }

    private static void RequireMsgid(EntryBuilder entry, string name, int number, string keyword)
    {
        if (!entry.HasMsgid) throw new CorpusFormatException(name, $"line {number}", keyword, "appears before any msgid");
    }

    private static void Flush(EntryBuilder entry, List<GettextEntry> entries, string name)
    {
        if (!entry.HasMsgid) return;
        if (entry.Translations.Count == 0)
            throw new CorpusFormatException(name, $"line {entry.StartLine}", "msgstr", "entry has a msgid but no msgstr");
        entries.Add(new GettextEntry(entry.Context?.ToString(), entry.Id!.ToString(), entry.PluralId?.ToString(),
            entry.Translations.Select(t => t.ToString()).ToList(), entry.Fuzzy, entry.StartLine ?? 0));
    }

    /// <summary>Decodes one C-style quoted string that must fill <paramref name="text"/> exactly.</summary>
    private static string ParseQuoted(string text, string name, int number, string? field = null)
    {
        if (text.Length == 0 || text[0] != '"')
            throw new CorpusFormatException(name, $"line {number}", field, "expected a quoted string");
        var result = new StringBuilder();
        var i = 1;
        while (true)
        {
            if (i >= text.Length) throw new CorpusFormatException(name, $"line {number}", field, "unterminated string");
            var c = text[i++];
            if (c == '"') break;
            if (c != '\\') { result.Append(c); continue; }
            if (i >= text.Length) throw new CorpusFormatException(name, $"line {number}", field, "unterminated string");
            var e = text[i++];
            switch (e)
            {
                case 'n': result.Append('\n'); break;
                case 't': result.Append('\t'); break;
                case 'r': result.Append('\r'); break;
                case 'a': result.Append('\a'); break;
                case 'b': result.Append('\b'); break;
                case 'f': result.Append('\f'); break;
                case 'v': result.Append('\v'); break;
                case '"' or '\\' or '\'' or '?': result.Append(e); break;
                case 'x':
                    var hexStart = i;
                    while (i < text.Length && Uri.IsHexDigit(text[i])) i++;
                    if (i == hexStart) throw new CorpusFormatException(name, $"line {number}", field, "\\x with no hex digits");
                    result.Append((char)Convert.ToInt32(text[hexStart..i], 16));
                    break;
                case >= '0' and <= '7':
                    var octStart = i - 1;
                    while (i < text.Length && i - octStart < 3 && text[i] is >= '0' and <= '7') i++;
                    result.Append((char)Convert.ToInt32(text[octStart..i], 8));
                    break;
                default:
                    throw new CorpusFormatException(name, $"line {number}", field, $"unknown escape \\{e}");
            }
        }
        if (text[i..].Trim().Length > 0)
            throw new CorpusFormatException(name, $"line {number}", field, $"unexpected text after the closing quote: {text[i..].Trim()}");
        return result.ToString();
    }

    private sealed class EntryBuilder
    {
        public StringBuilder? Context;
        public StringBuilder? Id;
        public StringBuilder? PluralId;
        public readonly List<StringBuilder> Translations = [];
        public bool Fuzzy;
        public int? StartLine;
        public bool HasMsgid => Id is not null;
    }
}
