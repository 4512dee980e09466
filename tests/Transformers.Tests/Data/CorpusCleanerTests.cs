using Transformers.Data;

namespace Transformers.Tests.Data;

public class CorpusCleanerTests
{
    private readonly CorpusCleaner _cleaner = new();

    private (string, string)? Clean(string en, string fr) => _cleaner.Clean(en, fr) is { } p ? (p.English, p.French) : null;

    [Theory]
    [InlineData("_Open", "_Ouvrir", "Open", "Ouvrir")]
    [InlineData("Save _As…", "Enre_gistrer sous…", "Save As…", "Enregistrer sous…")]
    [InlineData("&Quit", "&Quitter", "Quit", "Quitter")]
    [InlineData("Save ~As...", "Enregistrer ~sous...", "Save As...", "Enregistrer sous...")]
    [InlineData("Tom && Jerry", "Tom && Jerry le &film", "Tom & Jerry", "Tom & Jerry le film")]
    [InlineData("Use snake_case and more_words", "Utiliser snake_case et more_words", "Use snake_case and more_words", "Utiliser snake_case et more_words")]
    public void Accelerators_AreStripped(string en, string fr, string expectedEn, string expectedFr)
    {
        Assert.Equal((expectedEn, expectedFr), Clean(en, fr));
    }

    [Fact]
    public void Placeholders_KeptWhenConsistent_DroppedOtherwise()
    {
        Assert.Equal(("Copy %s to %s", "Copier %2$s vers %1$s"), Clean("Copy %s to %s", "Copier %2$s vers %1$s"));
        Assert.Equal(("{0} files", "{0} fichiers"), Clean("{0} files", "{0} fichiers"));
        Assert.Null(Clean("Copy %s to %s", "Copier %s"));
        Assert.Null(Clean("Delete {name}?", "Supprimer {nom} ?"));
        Assert.Equal(2, _cleaner.Counts[CleaningRule.KeptWithPlaceholders]);
        Assert.Equal(2, _cleaner.Counts[CleaningRule.DroppedPlaceholderMismatch]);
    }

    [Fact]
    public void Markup_FewTagsStripped_HeavyDropped_EntitiesUnescaped()
    {
        Assert.Equal(("Note: this is bold", "Remarque : ceci est gras"), Clean("<b>Note:</b> this is bold", "<b>Remarque :</b> ceci est gras"));
        Assert.Null(Clean("<a><b><c><d><e>x</e></d></c></b></a>", "<a><b><c><d><e>y</e></d></c></b></a>"));
        Assert.Equal(("Fish & Chips", "Poisson & frites"), Clean("Fish &amp; Chips", "Poisson &amp; frites"));
        Assert.Equal(1, _cleaner.Counts[CleaningRule.DroppedMarkupHeavy]);
        Assert.Equal(1, _cleaner.Counts[CleaningRule.ChangedTagsStripped]);
        Assert.Equal(1, _cleaner.Counts[CleaningRule.ChangedEntitiesUnescaped]);
    }

    [Fact]
    public void WhitespaceAndNfc_Normalized()
    {
        Assert.Equal(("Line one line two", "Ligne un ligne deux é"), Clean("Line one\nline   two\t", " Ligne un\r\nligne deux e\u0301"));
        Assert.Equal(1, _cleaner.Counts[CleaningRule.ChangedWhitespace]);
        Assert.Equal(1, _cleaner.Counts[CleaningRule.ChangedUnicodeNfc]);
    }

    [Theory]
    [InlineData("OK", "OK", CleaningRule.DroppedIdentical)]
    [InlineData("org.gnome.Settings", "Paramètres", CleaningRule.DroppedIdentifierLike)]
    [InlineData("manual|Child_Reference_Editor", "Éditeur", CleaningRule.DroppedIdentifierLike)]
    [InlineData("%s: %s", "%s : %s", CleaningRule.DroppedNoLetters)]
    [InlineData("Yes", "Oui, absolument, sans aucun doute possible", CleaningRule.DroppedLengthRatio)]
    public void Drops_AreCountedByRule(string en, string fr, CleaningRule rule)
    {
        Assert.Null(Clean(en, fr));
        Assert.Equal(1, _cleaner.Counts[rule]);
        Assert.Equal(1, _cleaner.Counts.Where(kv => kv.Key.ToString().StartsWith("Dropped")).Sum(kv => kv.Value));
    }

    [Fact]
    public void TooLong_Dropped()
    {
        var en = string.Join(' ', Enumerable.Repeat("word", 51));
        var fr = string.Join(' ', Enumerable.Repeat("mot", 51));
        Assert.Null(Clean(en, fr));
        Assert.Equal(1, _cleaner.Counts[CleaningRule.DroppedTooLong]);
        Assert.NotNull(Clean(string.Join(' ', Enumerable.Repeat("word", 50)), string.Join(' ', Enumerable.Repeat("mot", 50))));
    }

    [Fact]
    public void QualifierPrefix_Stripped()
    {
        Assert.Equal(("Siberians", "Sibériens"), Clean("?plural:Siberians", "Sibériens"));
    }
}
