using System.Text;
using System.Text.RegularExpressions;

namespace Transformers.Evaluation;

/// <summary>How BLEU splits text into words before counting n-grams.</summary>
public enum BleuTokenization
{
    /// <summary>mteval-v13a.pl's tokenizer, sacreBLEU's default ("tok:13a").</summary>
    Mteval13a,

    /// <summary>Whitespace only ("tok:none").</summary>
    None,
}

/// <summary>
/// The mteval-v13a tokenizer as sacreBLEU 2.x applies it: drop "&lt;skipped&gt;", join lines broken
/// after a hyphen, turn newlines into spaces, unescape &amp;quot; &amp;amp; &amp;lt; &amp;gt; (in that order),
/// pad the text with a space on each side, then four substitutions: space around the punctuation
/// <c>{|}~ [\]^_` space!"#$%&amp; ()*+ :;&lt;=&gt;?@ /</c>; split "." and "," from a preceding non-digit; split them
/// from a following non-digit; split "-" after a digit. Finally whitespace runs collapse (Python
/// <c>str.split()</c> semantics).
/// </summary>
public static partial class Tokenizer13a
{
    public static string Tokenize(string line)
    {
        line = line.Replace("<skipped>", "").Replace("-\n", "").Replace("\n", " ");
        if (line.Contains('&'))
            line = line.Replace("&quot;", "\"").Replace("&amp;", "&").Replace("&lt;", "<").Replace("&gt;", ">");
        line = " " + line + " ";
        line = Punctuation().Replace(line, " $1 ");
        line = PeriodCommaAfterNonDigit().Replace(line, "$1 $2 ");
        line = PeriodCommaBeforeNonDigit().Replace(line, " $1 $2");
        line = DashAfterDigit().Replace(line, "$1 $2 ");
        return string.Join(' ', SplitWhitespace(line));
    }

    /// <summary>
    /// Python's <c>str.split()</c> with no argument: runs of whitespace separate words, ends ignored.
    /// Python also treats U+001C..U+001F as whitespace, which .NET's char.IsWhiteSpace does not.
    /// </summary>
    public static string[] SplitWhitespace(string text)
    {
        var words = new List<string>();
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var space = i == text.Length || IsPythonWhitespace(text[i]);
            if (space && start >= 0) { words.Add(text[start..i]); start = -1; }
            else if (!space && start < 0) start = i;
        }
        return [.. words];
    }

    /// <summary>True for the characters Python's <c>str.isspace()</c> accepts.</summary>
    public static bool IsPythonWhitespace(char c) => char.IsWhiteSpace(c) || c is >= '\u001c' and <= '\u001f';

    /// <summary>Text with all Python-whitespace removed (chrF's default preprocessing).</summary>
    public static string RemoveWhitespace(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
            if (!IsPythonWhitespace(c)) builder.Append(c);
        return builder.ToString();
    }

    [GeneratedRegex(@"([{-~\[-` -&(-+:-@/])")]
    private static partial Regex Punctuation();

    [GeneratedRegex(@"([^0-9])([.,])")]
    private static partial Regex PeriodCommaAfterNonDigit();

    [GeneratedRegex(@"([.,])([^0-9])")]
    private static partial Regex PeriodCommaBeforeNonDigit();

    [GeneratedRegex(@"([0-9])(-)")]
    private static partial Regex DashAfterDigit();
}
