using System.Text;
using Transformers.Data;

namespace Transformers.Tests.Data;

public class GettextTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gettext-tests").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly (string, string)[] Entries =
    [
        ("", "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n > 1);\n"),
        ("_Open", "_Ouvrir"),
        ("menu\u0004File", "Fichier"),
        ("%d file\0%d files", "%d fichier\0%d fichiers"),
        ("Untranslated", ""),
    ];

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string WriteText(string name, string text) => Write(name, new UTF8Encoding(false).GetBytes(text));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Mo_BothByteOrders_ReadTheSameEntries(bool bigEndian)
    {
        var catalog = MoFile.Read(Write("a.mo", MoWriter.Build(Entries, bigEndian)));
        Assert.Equal(5, catalog.Entries.Count);
        Assert.True(catalog.Entries[0].IsHeader);
        Assert.Equal(("_Open", "_Ouvrir"), (catalog.Entries[1].Id, catalog.Entries[1].Translations[0]));
        Assert.Equal(("menu", "File", "Fichier"), (catalog.Entries[2].Context, catalog.Entries[2].Id, catalog.Entries[2].Translations[0]));
        Assert.Equal("%d files", catalog.Entries[3].PluralId);
        Assert.Equal(["%d fichier", "%d fichiers"], catalog.Entries[3].Translations);
        Assert.True(catalog.Entries[4].IsUntranslated);
        Assert.Equal(4, catalog.Entries[3].Line);
    }

    [Fact]
    public void Mo_Latin1Charset_IsDecoded()
    {
        (string, string)[] entries = [("", "Content-Type: text/plain; charset=ISO-8859-1\n"), ("Error", "Erreur fatale é")];
        var catalog = MoFile.Read(Write("latin1.mo", MoWriter.Build(entries, false, Encoding.Latin1)));
        Assert.Equal("Erreur fatale é", catalog.Entries[1].Translations[0]);
    }

    [Fact]
    public void Mo_InvalidUtf8_NamesEntryAndField()
    {
        var bytes = MoWriter.Build([("Error", "Erreur é")], false, Encoding.Latin1); // no header: UTF-8 assumed
        var error = Assert.Throws<CorpusFormatException>(() => MoFile.Read(Write("bad-utf8.mo", bytes)));
        Assert.Equal("msgstr", error.Field);
        Assert.StartsWith("entry 0", error.Location);
        Assert.Contains("bad-utf8.mo", error.Message);
    }

    [Fact]
    public void Mo_BadMagic()
    {
        var bytes = MoWriter.Build(Entries, false);
        bytes[0] = 0x12;
        var error = Assert.Throws<CorpusFormatException>(() => MoFile.Read(Write("magic.mo", bytes)));
        Assert.Equal("magic", error.Field);
        Assert.Equal("offset 0", error.Location);
        Assert.Contains("bad magic number", error.Message);
        Assert.Contains("magic.mo", error.Message);
    }

    [Fact]
    public void Mo_TruncatedHeader()
    {
        var error = Assert.Throws<CorpusFormatException>(() => MoFile.Read(Write("short.mo", MoWriter.Build(Entries, true)[..20])));
        Assert.Contains("truncated", error.Reason);
        Assert.Equal("header", error.Field);
    }

    [Fact]
    public void Mo_TruncatedTables()
    {
        var bytes = MoWriter.Build(Entries, false)[..40]; // header plus part of the original-string table
        var error = Assert.Throws<CorpusFormatException>(() => MoFile.Read(Write("tables.mo", bytes)));
        Assert.Equal("original-string table", error.Field);
        Assert.Equal("offset 12", error.Location);
    }

    [Fact]
    public void Mo_StringPastEndOfFile()
    {
        var bytes = MoWriter.Build(Entries, false);
        var cut = bytes[..^10]; // the tables are intact, the last strings are not
        var error = Assert.Throws<CorpusFormatException>(() => MoFile.Read(Write("strings.mo", cut)));
        Assert.Contains("runs past the end of the file", error.Reason);
        Assert.StartsWith("entry 3 (offset", error.Location); // the plural translation is the first string cut short
        Assert.Equal("msgstr", error.Field);
    }

    [Fact]
    public void Mo_EmptyFile()
    {
        var error = Assert.Throws<CorpusFormatException>(() => MoFile.Read(Write("empty.mo", [])));
        Assert.Equal("file is empty", error.Reason);
    }

    private const string Po = """
        # A comment
        msgid ""
        msgstr ""
        "Content-Type: text/plain; charset=UTF-8\n"

        #: src/main.c:12
        msgctxt "menu"
        msgid "File"
        msgstr "Fichier"

        msgid ""
        "A long message "
        "over two lines\twith \"quotes\" and \\ and \101\x42"
        msgstr "Un long message sur deux lignes"

        #, c-format, fuzzy
        msgid "Fuzzy %s"
        msgstr "Flou %s"

        msgid "%d file"
        msgid_plural "%d files"
        msgstr[0] "%d fichier"
        msgstr[1] "%d fichiers"

        msgid "Empty"
        msgstr ""

        #~ msgid "Obsolete"
        #~ msgstr "Obsolète"
        """;

    [Fact]
    public void Po_ContextPluralsMultilineEscapesFuzzy()
    {
        var catalog = PoFile.Parse(Po, "fr.po");
        Assert.Equal(6, catalog.Entries.Count);
        Assert.True(catalog.Entries[0].IsHeader);
        Assert.Equal(("menu", "File", 7), (catalog.Entries[1].Context, catalog.Entries[1].Id, catalog.Entries[1].Line));
        Assert.Equal("A long message over two lines\twith \"quotes\" and \\ and AB", catalog.Entries[2].Id);
        Assert.True(catalog.Entries[3].Fuzzy);
        Assert.False(catalog.Entries[2].Fuzzy);
        Assert.Equal("%d files", catalog.Entries[4].PluralId);
        Assert.Equal(["%d fichier", "%d fichiers"], catalog.Entries[4].Translations);
        Assert.True(catalog.Entries[5].IsUntranslated);
    }

    [Fact]
    public void Po_UnterminatedString_NamesLine()
    {
        var error = Assert.Throws<CorpusFormatException>(() => PoFile.Parse("msgid \"Open\"\nmsgstr \"Ouvrir\n", "broken.po"));
        Assert.Equal("line 2", error.Location);
        Assert.Equal("msgstr", error.Field);
        Assert.Contains("unterminated string", error.Message);
        Assert.StartsWith("broken.po, line 2", error.Message);
    }

    [Fact]
    public void Po_UnknownKeyword_And_OrphanString()
    {
        Assert.Equal("msgfoo", Assert.Throws<CorpusFormatException>(() => PoFile.Parse("msgfoo \"x\"\n", "k.po")).Field);
        Assert.Equal("line 1", Assert.Throws<CorpusFormatException>(() => PoFile.Parse("\"x\"\n", "k.po")).Location);
        Assert.Contains("no msgstr", Assert.Throws<CorpusFormatException>(() => PoFile.Parse("msgid \"a\"\n", "k.po")).Message);
    }

    [Fact]
    public void Po_EmptyFile()
    {
        var error = Assert.Throws<CorpusFormatException>(() => PoFile.Read(WriteText("empty.po", "\n\n")));
        Assert.Equal("file is empty", error.Reason);
    }

    [Fact]
    public void FromGettext_PairsFrenchToEnglish_SkipsHeaderFuzzyUntranslated()
    {
        var po = ParallelCorpus.FromGettext(WriteText("fr.po", Po));
        Assert.Equal(["Fichier", "Un long message sur deux lignes", "%d fichier", "%d fichiers"], po.Pairs.Select(p => p.Source));
        Assert.Equal(["File", "%d file", "%d files"], po.Pairs.Where(p => p.Source != "Un long message sur deux lignes").Select(p => p.Target));
        Assert.Equal(7, po.Pairs[0].Line);

        var mo = ParallelCorpus.FromGettext(Write("fr.mo", MoWriter.Build(Entries, bigEndian: true)));
        Assert.Equal(["_Ouvrir", "Fichier", "%d fichier", "%d fichiers"], mo.Pairs.Select(p => p.Source));
        Assert.Equal(2, mo.Pairs[0].Line); // entry number
    }

    [Fact]
    public void Catalog_UnknownExtension()
    {
        Assert.Throws<CorpusFormatException>(() => GettextCatalog.Read(WriteText("x.txt", "msgid \"a\"")));
    }
}
