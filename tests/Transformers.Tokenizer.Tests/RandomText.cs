using System.Text;

namespace Transformers.Tokenizer.Tests;

/// <summary>Deterministic generators of test strings.</summary>
public static class RandomText
{
    private static readonly string[] Pieces =
    [
        "Café", "École", "naïve", "Ærøskøbing", "garçon", "L'été", "Straße", "İstanbul", "ﬁne", "Αθήνα", "Москва", "東京都",
        "ひらがな", "カタカナ", "서울", "مرحبا", "שלום", "हिन्दी", "😀", "👍🏽", "👨‍👩‍👧", "$", "+", "=", "<", ">", "|", "~", "^", "`",
        "…", "—", "«", "»", "¿", "¡", "§", "©", "°", "½", "€", "\t", "\n", "\r\n", "\u00A0", "\u3000", "\u2003", "\u0000",
        "\u0007", "\u200B", "\u200D", "\uFEFF", "\uFFFD", "e\u0301", "a\u0308", "[MASK]", "[UNK]", "[CLS]", "[mask]", "123",
        "3.14", "U.S.A.", "don't", "e-mail", "x@y.z", "http://a.b/c?d=e", "ℌ", "Ⅻ", "㎏", "ｆｕｌｌ", "ǅ", "ΐ", "ß", "ﬀ",
    ];

    /// <summary>Strings of vocabulary words mixed with scripts, symbols, whitespace and control characters.</summary>
    public static string Realistic(Random random, IReadOnlyList<string> words)
    {
        var sb = new StringBuilder();
        int n = random.Next(0, 12);
        for (int i = 0; i < n; i++)
        {
            if (random.Next(3) == 0) sb.Append(Pieces[random.Next(Pieces.Length)]);
            else
            {
                string w = words[random.Next(words.Count)];
                sb.Append(random.Next(4) == 0 ? w.ToUpperInvariant() : w);
            }
            if (random.Next(4) != 0) sb.Append(' ');
        }
        return sb.ToString();
    }

    /// <summary>Any UTF-16: every plane, combining marks, lone surrogates, controls, specials.</summary>
    public static string AnyUnicode(Random random)
    {
        int length = random.Next(0, 24);
        var sb = new StringBuilder(length * 2);
        for (int i = 0; i < length; i++)
        {
            switch (random.Next(10))
            {
                case 0: sb.Append((char)random.Next(0xD800, 0xE000)); break; // lone surrogate
                case 1: sb.Append((char)random.Next(0x300, 0x370)); break; // combining marks
                case 2: sb.Append((char)random.Next(0, 0x80)); break; // ASCII incl. controls
                case 3: sb.Append(char.ConvertFromUtf32(random.Next(0x10000, 0x110000) is var cp && cp is >= 0xD800 and < 0xE000 ? 0x10000 : cp)); break;
                case 4: sb.Append(" \t\n\r\u3000\u00A0\u0085"[random.Next(7)]); break;
                case 5: sb.Append(random.Next(3) switch { 0 => "[MASK]", 1 => "[SEP", _ => "##" }); break;
                default: sb.Append((char)random.Next(0, 0x10000)); break; // any BMP unit (includes surrogates)
            }
        }
        return sb.ToString();
    }
}
