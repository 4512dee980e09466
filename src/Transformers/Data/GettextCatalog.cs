using System.Text;

namespace Transformers.Data;

/// <summary>
/// One gettext message: an English <c>msgid</c> (and <c>msgid_plural</c>) with its translations
/// (<c>msgstr</c>, or <c>msgstr[0..n]</c> for plural forms).
/// </summary>
/// <param name="Context">The <c>msgctxt</c>, or null.</param>
/// <param name="Id">The source (English) text; "" for the header entry.</param>
/// <param name="PluralId">The <c>msgid_plural</c>, or null.</param>
/// <param name="Translations">msgstr, or msgstr[0], msgstr[1], ...; an empty string means untranslated.</param>
/// <param name="Fuzzy">Marked <c>#, fuzzy</c> (only .po files carry this; msgfmt leaves fuzzy entries out of .mo files).</param>
/// <param name="Line">1-based: the line where the entry starts in a .po file, the entry number in a .mo file.</param>
public sealed record GettextEntry(
    string? Context, string Id, string? PluralId, IReadOnlyList<string> Translations, bool Fuzzy, int Line)
{
    /// <summary>True for the header entry (empty msgid, metadata in msgstr).</summary>
    public bool IsHeader => Id.Length == 0 && Context is null;

    /// <summary>True when every translation is empty.</summary>
    public bool IsUntranslated => Translations.All(t => t.Length == 0);
}

/// <summary>The entries of one gettext catalog, in file order.</summary>
public sealed record GettextCatalog(string File, IReadOnlyList<GettextEntry> Entries)
{
    /// <summary>Reads a .mo (binary) or .po (text) catalog, chosen by the file extension.</summary>
    public static GettextCatalog Read(string path)
    {
        var extension = Path.GetExtension(path).ToLowerInvariant();
        return extension switch
        {
            ".mo" or ".gmo" => MoFile.Read(path),
            ".po" or ".pot" => PoFile.Read(path),
            _ => throw new CorpusFormatException(path, "", null, "not a gettext catalog: expected a .mo or .po extension"),
        };
    }
}

/// <summary>
/// Reads GNU gettext binary catalogs (.mo), little- or big-endian. Layout (GNU gettext manual,
/// "The Format of GNU MO Files"): magic 0x950412de, revision, N, offset O of the original-string
/// table, offset T of the translation table, hash size and offset; each table holds N (length,
/// offset) pairs of uint32; strings are NUL-terminated. A msgctxt is joined to its msgid by
/// U+0004; plural forms are separated by NUL.
/// </summary>
public static class MoFile
{
    private const uint Magic = 0x950412de;
    private const int HeaderSize = 28;

    public static GettextCatalog Read(string path)
    {
        if (!System.IO.File.Exists(path)) throw new FileNotFoundException($"gettext catalog not found: {path}", path);
        return Parse(System.IO.File.ReadAllBytes(path), path);
    }

    /// <summary>Parses .mo bytes; <paramref name="name"/> is used in error messages.</summary>
    public static GettextCatalog Parse(ReadOnlySpan<byte> bytes, string name)
    {
        if (bytes.Length == 0) throw new CorpusFormatException(name, "", null, "file is empty");
        if (bytes.Length < HeaderSize)
            throw new CorpusFormatException(name, "offset 0", "header", $"truncated: {bytes.Length} bytes, a .mo header needs {HeaderSize}");

        bool bigEndian;
        if (ReadUInt32(bytes, 0, bigEndian: false) == Magic) bigEndian = false;
        else if (ReadUInt32(bytes, 0, bigEndian: true) == Magic) bigEndian = true;
        else throw new CorpusFormatException(name, "offset 0", "magic",
            $"bad magic number 0x{ReadUInt32(bytes, 0, false):x8} (expected 0x950412de in either byte order)");

        var revision = ReadUInt32(bytes, 4, bigEndian);
        if (revision >> 16 > 1)
            throw new CorpusFormatException(name, "offset 4", "revision", $"unsupported major revision {revision >> 16}");
        var count = ReadUInt32(bytes, 8, bigEndian);
        var originals = ReadUInt32(bytes, 12, bigEndian);
        var translations = ReadUInt32(bytes, 16, bigEndian);
        CheckTable(bytes.Length, originals, count, name, "offset 12", "original-string table");
        CheckTable(bytes.Length, translations, count, name, "offset 16", "translation table");

        var encoding = CatalogEncoding(bytes, count, originals, translations, bigEndian, name);
        var entries = new List<GettextEntry>((int)count);
        for (var i = 0; i < (int)count; i++)
        {
            var location = $"entry {i}";
            var original = ReadString(bytes, originals + 8 * (uint)i, bigEndian, encoding, name, location, "msgid");
            var translated = ReadString(bytes, translations + 8 * (uint)i, bigEndian, encoding, name, location, "msgstr");

            string? context = null;
            var separator = original.IndexOf('\u0004');
            if (separator >= 0)
            {
                context = original[..separator];
                original = original[(separator + 1)..];
            }
            string? pluralId = null;
            var nul = original.IndexOf('\0');
            if (nul >= 0)
            {
                pluralId = original[(nul + 1)..];
                original = original[..nul];
            }
            entries.Add(new GettextEntry(context, original, pluralId, translated.Split('\0'), Fuzzy: false, Line: i + 1));
        }
        return new GettextCatalog(name, entries);
    }

    private static void CheckTable(int fileLength, uint offset, uint count, string name, string location, string field)
    {
        var end = (ulong)offset + 8UL * count;
        if (end > (ulong)fileLength)
            throw new CorpusFormatException(name, location, field,
                $"truncated: {count} entries at offset {offset} need {end} bytes, the file has {fileLength}");
    }

    private static string ReadString(
        ReadOnlySpan<byte> bytes, uint descriptor, bool bigEndian, Encoding encoding, string name, string location, string field)
    {
        var length = ReadUInt32(bytes, (int)descriptor, bigEndian);
        var offset = ReadUInt32(bytes, (int)descriptor + 4, bigEndian);
        if ((ulong)offset + length > (ulong)bytes.Length)
            throw new CorpusFormatException(name, $"{location} (offset {descriptor})", field,
                $"truncated: string of {length} bytes at offset {offset} runs past the end of the file ({bytes.Length} bytes)");
        try
        {
            return encoding.GetString(bytes.Slice((int)offset, (int)length));
        }
        catch (DecoderFallbackException e)
        {
            throw new CorpusFormatException(name, $"{location} (offset {offset})", field, $"invalid {encoding.WebName}", e);
        }
    }

    /// <summary>
    /// The charset named in the header entry (msgid "", msgstr "...Content-Type: text/plain; charset=X").
    /// UTF-8 (the default when there is no header), ASCII and ISO-8859-1 are supported; decoding is strict.
    /// </summary>
    private static Encoding CatalogEncoding(ReadOnlySpan<byte> bytes, uint count, uint originals, uint translations, bool bigEndian, string name)
    {
        var strictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        for (var i = 0u; i < count; i++)
        {
            if (ReadUInt32(bytes, (int)(originals + 8 * i), bigEndian) != 0) continue; // not the empty msgid
            var header = ReadString(bytes, translations + 8 * i, bigEndian, Encoding.Latin1, name, $"entry {i}", "header");
            var at = header.IndexOf("charset=", StringComparison.OrdinalIgnoreCase);
            if (at < 0) return strictUtf8;
            var charset = new string(header[(at + 8)..].TakeWhile(c => !char.IsWhiteSpace(c) && c != ';').ToArray()).ToUpperInvariant();
            return charset switch
            {
                "UTF-8" or "UTF8" or "CHARSET" => strictUtf8, // "CHARSET" is the template placeholder
                "ASCII" or "US-ASCII" or "ANSI_X3.4-1968" => Encoding.GetEncoding("us-ascii", EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback),
                "ISO-8859-1" or "ISO8859-1" or "LATIN1" => Encoding.Latin1,
                _ => throw new CorpusFormatException(name, $"entry {i}", "header", $"unsupported charset {charset} (UTF-8, ASCII and ISO-8859-1 are read)"),
            };
        }
        return strictUtf8;
    }

    private static uint ReadUInt32(ReadOnlySpan<byte> bytes, int offset, bool bigEndian) => bigEndian
        ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes.Slice(offset, 4))
        : System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.Slice(offset, 4));
}
