using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Transformers.Tokenizer.Normalization;

/// <summary>
/// Options of BERT's normalizer (HF <c>tokenizers</c> <c>BertNormalizer</c>), applied in this order:
/// clean text, pad CJK ideographs with spaces, strip accents (NFD then drop Mn), lowercase.
/// </summary>
public sealed record BertNormalizerOptions
{
    /// <summary>Drop NUL, U+FFFD and control/format/private/unassigned characters; every whitespace becomes a word boundary.</summary>
    public bool CleanText { get; init; } = true;

    /// <summary>Put spaces around CJK ideographs so each one is a word.</summary>
    public bool HandleChineseChars { get; init; } = true;

    /// <summary>Lowercase every character (Unicode full lowercase mapping, character by character).</summary>
    public bool Lowercase { get; init; } = true;

    /// <summary>NFD, then drop non-spacing marks (Mn). <c>null</c> follows <see cref="Lowercase"/>, as BERT's does.</summary>
    public bool? StripAccents { get; init; }

    /// <summary>Whether accents are stripped once the <c>null</c> default is resolved.</summary>
    public bool StripsAccents => StripAccents ?? Lowercase;

    /// <summary>bert-base-uncased and MiniLM: lowercase and strip accents.</summary>
    public static BertNormalizerOptions Uncased { get; } = new();

    /// <summary>Cased and accent-keeping (French): no lowercasing, no NFD.</summary>
    public static BertNormalizerOptions Cased { get; } = new() { Lowercase = false };
}

/// <summary>What a character becomes after normalization, as seen by BERT's pre-tokenizer.</summary>
public enum CharKind : byte
{
    /// <summary>Removed by cleaning or accent stripping; not a word boundary ("a\u0001b" stays one word).</summary>
    Removed,
    /// <summary>Whitespace: a word boundary.</summary>
    Whitespace,
    /// <summary>Part of a word; normalized to a single UTF-16 unit.</summary>
    Word,
    /// <summary>A word on its own (punctuation, ASCII symbol or CJK ideograph); normalized to one unit.</summary>
    Isolated,
    /// <summary>Several code points (each seen by the pre-tokenizer), or any character the table sends to <see cref="BertNormalizer.Classify"/>.</summary>
    Expanded,
}

/// <summary>
/// BERT's normalizer as a per-character function. Every BMP character's result is precomputed into a
/// table (65,536 entries, built once per option set); supplementary characters are computed on demand
/// and cached. The result of one input character never depends on its neighbours, which is what lets
/// the pre-tokenizer run in one pass over the original text and keep exact offsets.
/// </summary>
/// <remarks>
/// Known, deliberate approximation: HF runs NFD over the whole string, which also reorders runs of
/// combining marks across characters (canonical ordering). Here each character is decomposed alone;
/// since reordered marks are almost always Mn (dropped when accents are stripped) and NFD only runs
/// when accents are stripped, the difference needs two adjacent spacing marks of non-zero combining
/// class, which real text does not contain.
/// </remarks>
public sealed class BertNormalizer
{
    private static readonly ConcurrentDictionary<(bool, bool, bool, bool), BertNormalizer> Cache = new();

    private readonly CharKind[] _kinds = new CharKind[65536];
    private readonly char[] _mapped = new char[65536];
    private readonly ConcurrentDictionary<int, (CharKind Kind, string Text)> _supplementary = new();

    /// <summary>True kind and text of BMP characters the table routes to the slow path (<see cref="CharKind.Expanded"/>).</summary>
    private readonly Dictionary<char, (CharKind Kind, string Text)> _bmpSlow = new();

    public BertNormalizerOptions Options { get; }

    private BertNormalizer(BertNormalizerOptions options)
    {
        Options = options;
        for (int c = 0; c < 65536; c++)
        {
            if (c is >= 0xD800 and <= 0xDFFF)
            {
                // Surrogate units take the slow path, which reads the whole code point.
                _kinds[c] = CharKind.Expanded;
                continue;
            }
            var (kind, text) = Compute(c);
            if (kind == CharKind.Expanded || (kind is CharKind.Word or CharKind.Isolated && text.Length != 1))
            {
                _kinds[c] = CharKind.Expanded;
                _bmpSlow[(char)c] = (kind, text);
                continue;
            }
            _kinds[c] = kind;
            if (text.Length == 1) _mapped[c] = text[0];
        }
    }

    /// <summary>The shared normalizer for these options (tables are built once).</summary>
    public static BertNormalizer Get(BertNormalizerOptions options) =>
        Cache.GetOrAdd((options.CleanText, options.HandleChineseChars, options.Lowercase, options.StripsAccents),
            _ => new BertNormalizer(options));

    /// <summary>Kind of a BMP unit (surrogates report what a lone surrogate becomes).</summary>
    public CharKind KindOf(char c) => _kinds[c];

    /// <summary>The single normalized unit of a <see cref="CharKind.Word"/> or <see cref="CharKind.Isolated"/> BMP character.</summary>
    public char MapOf(char c) => _mapped[c];

    /// <summary>Kind and normalized text of any code point (the text is empty when removed).</summary>
    public (CharKind Kind, string Text) Classify(int codePoint)
    {
        if (codePoint is >= 0xD800 and <= 0xDFFF)
        {
            // A lone surrogate is not a character: it counts as U+FFFD (what UTF-8 encoding turns it
            // into before HF sees it), which cleaning removes.
            return Options.CleanText ? (CharKind.Removed, "") : (CharKind.Word, "\uFFFD");
        }
        if (codePoint < 0x10000)
        {
            char c = (char)codePoint;
            return _kinds[c] switch
            {
                CharKind.Expanded => _bmpSlow[c],
                CharKind.Removed => (CharKind.Removed, ""),
                CharKind.Whitespace => (CharKind.Whitespace, " "),
                var k => (k, _mapped[c].ToString()),
            };
        }
        return _supplementary.GetOrAdd(codePoint, cp => Compute(cp));
    }


    /// <summary>The normalized string, as HF's <c>BertNormalizer</c> produces it (CJK padded with spaces, whitespace as ' ').</summary>
    public string Normalize(string text)
    {
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length;)
        {
            int cp = ReadCodePoint(text, i, out int width);
            i += width;
            var (kind, mapped) = Classify(cp);
            bool cjk = Options.HandleChineseChars && IsChineseChar(cp);
            if (cjk) sb.Append(' ');
            sb.Append(mapped);
            if (cjk) sb.Append(' ');
        }
        return sb.ToString();
    }

    /// <summary>The code point at <paramref name="i"/>; a lone surrogate reads as itself (width 1).</summary>
    public static int ReadCodePoint(ReadOnlySpan<char> text, int i, out int width)
    {
        char c = text[i];
        if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
        {
            width = 2;
            return char.ConvertToUtf32(c, text[i + 1]);
        }
        width = 1;
        return c;
    }

    private (CharKind Kind, string Text) Compute(int cp)
    {
        var o = Options;
        if (o.CleanText)
        {
            if (cp == 0 || cp == 0xFFFD || IsControl(cp)) return (CharKind.Removed, "");
            if (IsWhitespace(cp)) return (CharKind.Whitespace, " ");
        }
        else if (IsWhitespace(cp)) return (CharKind.Whitespace, cp == ' ' ? " " : char.ConvertFromUtf32(cp));

        bool cjk = o.HandleChineseChars && IsChineseChar(cp);
        string text = char.ConvertFromUtf32(cp);
        // Where HF's Unicode data differs from .NET's, its uncased result is tabulated (HfUnicodeTables).
        string? hf = o.StripsAccents && o.Lowercase ? HfUnicodeTables.UncasedOverride(cp) : null;
        if (hf is not null) text = hf;
        // .NET refuses to normalize unassigned code points; they have no decomposition anyway.
        else if (o.StripsAccents && CharUnicodeInfo.GetUnicodeCategory(cp) != UnicodeCategory.OtherNotAssigned)
        {
            string nfd = text.Normalize(NormalizationForm.FormD);
            var kept = new StringBuilder(nfd.Length);
            foreach (var r in nfd.EnumerateRunes())
                if (Rune.GetUnicodeCategory(r) != UnicodeCategory.NonSpacingMark) kept.Append(r.ToString());
            text = kept.ToString();
        }
        if (o.Lowercase && hf is null) text = LowercaseFull(text);

        if (text.Length == 0) return (CharKind.Removed, "");
        if (cjk) return (CharKind.Isolated, text);
        int first = char.ConvertToUtf32(text, 0);
        if (text.Length == char.ConvertFromUtf32(first).Length)
        {
            // One code point: classify it as the pre-tokenizer will see it.
            if (IsPunctuation(first)) return (CharKind.Isolated, text);
            if (IsWhitespace(first)) return (CharKind.Whitespace, text);
            return (CharKind.Word, text);
        }
        return (CharKind.Expanded, text);
    }

    /// <summary>Rust's <c>char::to_lowercase</c> per character: simple mappings plus U+0130's unconditional full one.</summary>
    private static string LowercaseFull(string text)
    {
        var sb = new StringBuilder(text.Length + 1);
        foreach (var r in text.EnumerateRunes())
        {
            if (r.Value == 0x130) sb.Append("i\u0307");
            else sb.Append(Rune.ToLowerInvariant(r).ToString());
        }
        return sb.ToString();
    }

    /// <summary>BERT's whitespace: <c>\t \n \r</c> and Unicode White_Space.</summary>
    public static bool IsWhitespace(int cp) => cp switch
    {
        '\t' or '\n' or '\r' or ' ' => true,
        < 0x80 => false,
        // Rust's char::is_whitespace (White_Space property); .NET's char.IsWhiteSpace agrees on these.
        0x85 or 0xA0 or 0x1680 or (>= 0x2000 and <= 0x200A) or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        _ => cp is 0x0B or 0x0C,
    };

    /// <summary>BERT's control test: categories Cc, Cf and Co, except <c>\t \n \r</c> (unassigned code points are kept, as HF keeps them).</summary>
    public static bool IsControl(int cp)
    {
        if (cp is '\t' or '\n' or '\r') return false;
        var cat = CharUnicodeInfo.GetUnicodeCategory(cp);
        return cat is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.PrivateUse
            && !HfUnicodeTables.Contains(HfUnicodeTables.NotControl, cp);
    }

    /// <summary>BERT's punctuation: every ASCII non-alphanumeric symbol and every Unicode P* character.</summary>
    public static bool IsPunctuation(int cp)
    {
        if (cp < 0x80) return cp is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126);
        bool unicode = CharUnicodeInfo.GetUnicodeCategory(cp) is UnicodeCategory.ConnectorPunctuation
            or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
            or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
            or UnicodeCategory.OtherPunctuation;
        return unicode
            ? !HfUnicodeTables.Contains(HfUnicodeTables.NotPunctuation, cp)
            : HfUnicodeTables.Contains(HfUnicodeTables.ExtraPunctuation, cp);
    }

    /// <summary>The CJK Unified Ideographs blocks BERT isolates (not Hiragana, Katakana or Hangul).</summary>
    public static bool IsChineseChar(int cp) =>
        cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF)
            or (>= 0x2A700 and <= 0x2B73F) or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B920 and <= 0x2CEAF)
            or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);
}
