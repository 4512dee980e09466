namespace Transformers.Tokenizer.Normalization;

/// <summary>
/// Where HF <c>tokenizers</c> (0.22.2, whose <c>unicode_categories</c> tables predate Unicode 10) and
/// .NET 10 disagree on the two properties that decide word boundaries. Found by running HF's
/// BertNormalizer + BertPreTokenizer (the Rust library through the <c>Tokenizers.DotNet</c> NuGet
/// package) on "a" + c + "b" for every code point c and comparing with this implementation.
/// Characters listed here were assigned or re-categorized after HF's tables were made.
/// Not covered (uncased mode only, and only in scripts encoded after Unicode 9): HF strips an older
/// set of Mn marks, uses older NFD data and newer lowercase data; this class does not patch those.
/// </summary>
internal static class HfUnicodeTables
{
    internal static readonly (int First, int Last)[] NotPunctuation =
    [
        (0x61D, 0x61D), (0x9FD, 0x9FD), (0xA76, 0xA76), (0xC77, 0xC77), (0xC84, 0xC84), (0x1B4E, 0x1B4F), (0x1B7D, 0x1B7F), (0x2E43, 0x2E4F), (0x2E52, 0x2E5D), (0x10D6E, 0x10D6E), (0x10EAD, 0x10EAD), (0x10F55, 0x10F59), (0x10F86, 0x10F89), (0x113D4, 0x113D5), (0x113D7, 0x113D8), (0x1144B, 0x1144F), (0x1145A, 0x1145B), (0x1145D, 0x1145D), (0x11660, 0x1166C), (0x116B9, 0x116B9), (0x1183B, 0x1183B), (0x11944, 0x11946), (0x119E2, 0x119E2), (0x11A3F, 0x11A46), (0x11A9A, 0x11A9C), (0x11A9E, 0x11AA2), (0x11B00, 0x11B09), (0x11BE1, 0x11BE1), (0x11C41, 0x11C45), (0x11C70, 0x11C71), (0x11EF7, 0x11EF8), (0x11F43, 0x11F4F), (0x11FFF, 0x11FFF), (0x12FF1, 0x12FF2), (0x16D6D, 0x16D6F), (0x16E97, 0x16E9A), (0x16FE2, 0x16FE2), (0x1E5FF, 0x1E5FF), (0x1E95E, 0x1E95F),
    ];
    internal static readonly (int First, int Last)[] NotControl =
    [
        (0x890, 0x891), (0x8E2, 0x8E2), (0x110CD, 0x110CD), (0x13430, 0x1343F),
    ];
    internal static readonly (int First, int Last)[] ExtraPunctuation =
    [
        (0x166D, 0x166D), (0x111C9, 0x111C9),
    ];

    internal static bool Contains((int First, int Last)[] ranges, int cp)
    {
        int lo = 0, hi = ranges.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (cp < ranges[mid].First) hi = mid - 1;
            else if (cp > ranges[mid].Last) lo = mid + 1;
            else return true;
        }
        return false;
    }
}
