using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Transformers.Data;

/// <summary>Why a pair was dropped, or what was changed in a kept pair; every rule is counted.</summary>
public enum CleaningRule
{
    // Drops, in the order they are tested.
    DroppedIdentifierLike,
    DroppedMarkupHeavy,
    DroppedPlaceholderMismatch,
    DroppedNoLetters,
    DroppedIdentical,
    DroppedTooLong,
    DroppedLengthRatio,
    // Changes made to pairs (a pair can count under several).
    ChangedWhitespace,
    ChangedUnicodeNfc,
    ChangedTagsStripped,
    ChangedEntitiesUnescaped,
    ChangedAcceleratorsStripped,
    ChangedQualifierStripped,
    KeptWithPlaceholders,
}

/// <summary>Thresholds of <see cref="CorpusCleaner"/>; each default is the one the bundled corpus was built with.</summary>
public sealed record CleaningOptions
{
    /// <summary>Longest English side kept, in whitespace-separated words (long help paragraphs are not sentences).</summary>
    public int MaxEnglishWords { get; init; } = 50;

    /// <summary>Pairs whose (length + <see cref="RatioSlack"/>) ratio, longer over shorter, exceeds this are dropped.</summary>
    public double MaxLengthRatio { get; init; } = 2.5;

    /// <summary>Characters added to both lengths before the ratio, so "OK" -> "Valider" survives.</summary>
    public int RatioSlack { get; init; } = 10;

    /// <summary>A side with more tags than this, or whose tags cover more than <see cref="MaxMarkupShare"/> of it, is markup-heavy.</summary>
    public int MaxTags { get; init; } = 4;

    /// <summary>Largest share of characters that tags may take (entities are unescaped, not counted).</summary>
    public double MaxMarkupShare { get; init; } = 0.3;
}

/// <summary>
/// Cleans one software-localization pair (English msgid, French msgstr) into a translation pair:
/// normalizes whitespace and Unicode (NFC); drops identifier-like msgids, markup-heavy pairs,
/// pairs whose placeholders (<c>%s</c>, <c>%1$d</c>, <c>%(name)s</c>, <c>%1</c>, <c>{0}</c>,
/// <c>{name}</c>) differ between the sides, pairs without letters, identical sides, over-long
/// sides and implausible length ratios; strips the few tags of other pairs, unescapes HTML/XML
/// entities and removes accelerator markers (<c>_</c> GTK, <c>&amp;</c> Qt/KDE, <c>~</c>
/// LibreOffice) and translator-context prefixes (freeciv's <c>?plural:</c>). Pairs whose placeholders agree keep them on both sides. Counts every rule in
/// <see cref="Counts"/>. Deduplication is the caller's (it needs the whole corpus).
/// </summary>
public sealed partial class CorpusCleaner
{
    private readonly CleaningOptions _options;
    private readonly Dictionary<CleaningRule, int> _counts = Enum.GetValues<CleaningRule>().ToDictionary(r => r, _ => 0);

    public CorpusCleaner(CleaningOptions? options = null) => _options = options ?? new CleaningOptions();

    /// <summary>How many pairs each rule dropped or changed so far.</summary>
    public IReadOnlyDictionary<CleaningRule, int> Counts => _counts;

    /// <summary>The cleaned pair, or null when a rule dropped it (the rule is counted).</summary>
    public (string English, string French)? Clean(string english, string french)
    {
        var en = NormalizeWhitespace(english);
        var fr = NormalizeWhitespace(french);
        if (en != english || fr != french) _counts[CleaningRule.ChangedWhitespace]++;

        var enNfc = en.Normalize(NormalizationForm.FormC);
        var frNfc = fr.Normalize(NormalizationForm.FormC);
        if (enNfc != en || frNfc != fr) _counts[CleaningRule.ChangedUnicodeNfc]++;
        (en, fr) = (enNfc, frNfc);

        if (Qualifier().Match(en) is { Success: true } qualifier)
        {
            en = en[qualifier.Length..].TrimStart();
            _counts[CleaningRule.ChangedQualifierStripped]++;
        }

        if (IdentifierLike().IsMatch(en)) return Drop(CleaningRule.DroppedIdentifierLike);

        if (IsMarkupHeavy(en) || IsMarkupHeavy(fr)) return Drop(CleaningRule.DroppedMarkupHeavy);
        var (enNoTags, frNoTags) = (StripTags(en), StripTags(fr));
        if (enNoTags != en || frNoTags != fr) _counts[CleaningRule.ChangedTagsStripped]++;
        (en, fr) = (enNoTags, frNoTags);

        if (Entity().IsMatch(en) || Entity().IsMatch(fr))
        {
            (en, fr) = (NormalizeWhitespace(WebUtility.HtmlDecode(en)), NormalizeWhitespace(WebUtility.HtmlDecode(fr)));
            _counts[CleaningRule.ChangedEntitiesUnescaped]++;
        }

        var (enPlain, frPlain) = (StripAccelerators(en), StripAccelerators(fr));
        if (enPlain != en || frPlain != fr) _counts[CleaningRule.ChangedAcceleratorsStripped]++;
        (en, fr) = (enPlain, frPlain);

        var enPlaceholders = Placeholders(en);
        if (!enPlaceholders.SequenceEqual(Placeholders(fr))) return Drop(CleaningRule.DroppedPlaceholderMismatch);

        if (!HasLetter(en) || !HasLetter(fr)) return Drop(CleaningRule.DroppedNoLetters);
        if (en == fr) return Drop(CleaningRule.DroppedIdentical);
        if (CountWords(en) > _options.MaxEnglishWords) return Drop(CleaningRule.DroppedTooLong);

        double longer = Math.Max(en.Length, fr.Length) + _options.RatioSlack;
        double shorter = Math.Min(en.Length, fr.Length) + _options.RatioSlack;
        if (longer / shorter > _options.MaxLengthRatio) return Drop(CleaningRule.DroppedLengthRatio);

        if (enPlaceholders.Count > 0) _counts[CleaningRule.KeptWithPlaceholders]++;
        return (en, fr);
    }

    /// <summary>Whitespace runs (including newlines and tabs) become one space; the ends are trimmed.</summary>
    public static string NormalizeWhitespace(string text)
    {
        var builder = new StringBuilder(text.Length);
        var pendingSpace = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c)) { pendingSpace = builder.Length > 0; continue; }
            if (pendingSpace) builder.Append(' ');
            pendingSpace = false;
            builder.Append(c);
        }
        return builder.ToString();
    }

    /// <summary>Whitespace-separated words.</summary>
    public static int CountWords(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;

    /// <summary>
    /// Removes an accelerator marker: a single <c>_</c>, <c>&amp;</c> or <c>~</c> before a letter or digit
    /// (when a side has several, they are not mnemonics: snake_case, shell syntax; left alone);
    /// Qt's escaped <c>&amp;&amp;</c> becomes <c>&amp;</c>.
    /// </summary>
    public static string StripAccelerators(string text)
    {
        foreach (var marker in new[] { '_', '&', '~' })
        {
            var positions = new List<int>();
            for (var i = 0; i + 1 < text.Length; i++)
            {
                if (text[i] != marker) continue;
                if (marker == '&' && text[i + 1] == '&') { i++; continue; }
                if (char.IsLetterOrDigit(text[i + 1])) positions.Add(i);
            }
            if (positions.Count == 1) text = text.Remove(positions[0], 1);
            if (marker == '&') text = text.Replace("&&", "&");
        }
        return text;
    }

    /// <summary>The placeholders of a side, reduced to their kind (<c>%1$s</c> -> <c>%s</c>) and sorted: order may differ between languages.</summary>
    public static IReadOnlyList<string> Placeholders(string text) =>
        Placeholder().Matches(text).Select(m => Canonical(m.Value)).Order(StringComparer.Ordinal).ToList();

    private static string Canonical(string placeholder)
    {
        if (placeholder.StartsWith('{')) return placeholder.Length > 2 && char.IsDigit(placeholder[1]) ? "{n}" : placeholder;
        if (placeholder.StartsWith("%(")) return placeholder;
        if (placeholder.Length > 1 && char.IsDigit(placeholder[^1])) return "%n"; // Qt %1
        return "%" + placeholder[^1];
    }

    private bool IsMarkupHeavy(string text)
    {
        var tags = Tag().Matches(text);
        if (tags.Count > _options.MaxTags) return true;
        return text.Length > 0 && tags.Sum(m => m.Length) > _options.MaxMarkupShare * text.Length;
    }

    /// <summary>A letter outside placeholders (the "s" of "%s" is not text).</summary>
    private static bool HasLetter(string text) => Placeholder().Replace(text, "").Any(char.IsLetter);

    private static string StripTags(string text) => Tag().IsMatch(text) ? NormalizeWhitespace(Tag().Replace(text, "")) : text;

    private (string, string)? Drop(CleaningRule rule)
    {
        _counts[rule]++;
        return null;
    }

    /// <summary>A msgid that is a key, not text: no space, and with an underscore or bar inside, or dotted (STR_OK, manual|Child_Editor, org.gnome.Foo).</summary>
    [GeneratedRegex(@"^(?:\S*\w[_|]\w\S*|[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)+)$")]
    private static partial Regex IdentifierLike();

    /// <summary>A translator-context prefix inside a msgid, as freeciv's Q_("?plural:Siberians").</summary>
    [GeneratedRegex(@"^\?[A-Za-z_-]+:")]
    private static partial Regex Qualifier();

    [GeneratedRegex(@"</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>")]
    private static partial Regex Tag();

    [GeneratedRegex(@"&(?:#[0-9]+|#x[0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")]
    private static partial Regex Entity();

    [GeneratedRegex(@"%(?:[0-9]+\$)?[-+ #0']*(?:[0-9]+|\*)?(?:\.(?:[0-9]+|\*))?(?:hh|h|ll|l|L|q|j|z|t|I64|I32)?[diouxXeEfFgGaAcsSpn]|%\([A-Za-z_][A-Za-z0-9_]*\)[-+ #0]*[0-9]*(?:\.[0-9]+)?[diouxXeEfFgGcrs]|%[0-9]+|\{[0-9]+(?:[,:][^{}]*)?\}|\{[A-Za-z_][A-Za-z0-9_.]*\}")]
    private static partial Regex Placeholder();
}
