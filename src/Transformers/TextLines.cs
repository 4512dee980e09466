using System.Text;

namespace Transformers;

/// <summary>
/// What a line is, for every reader of line-oriented text in this project (the CLI's stdin, evaluate's files, corpora):
/// a line ends at <c>\n</c> or <c>\r\n</c> and nowhere else. A lone <c>\r</c> stays inside its line (the tokenizers
/// then read it as whitespace), a final line ending does not start an extra empty line, and empty lines are lines.
/// So n line endings give n lines (plus one if text follows the last), whatever the characters between them:
/// output that has one line per input line stays aligned with its input.
/// </summary>
/// <remarks>
/// <see cref="TextReader.ReadLine"/> also ends a line at a lone <c>\r</c> (and at U+0085, U+2028 and U+2029 in some
/// readers); text pasted from old Mac files or fuzzed input then gives more lines out than in. Splitting UTF-8 bytes
/// at 0x0A is safe: the byte never occurs inside a multi-byte sequence.
/// </remarks>
public static class TextLines
{
    /// <summary>UTF-8 that decodes an invalid byte sequence to U+FFFD instead of failing, and drops a leading BOM.</summary>
    public static readonly Encoding LenientUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: true, throwOnInvalidBytes: false);

    /// <summary>The lines of <paramref name="text"/>.</summary>
    public static IEnumerable<string> Split(string text) => Read(new StringReader(text));

    /// <summary>
    /// The lines of a UTF-8 byte stream, read as they arrive: a leading BOM is dropped and each invalid byte sequence
    /// becomes U+FFFD (the way stdin of a command-line tool is read: a bad byte costs a character, not the line).
    /// </summary>
    public static IEnumerable<string> Read(Stream stream) =>
        Read(new StreamReader(stream, LenientUtf8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16));

    /// <summary>The lines of <paramref name="reader"/>, read as they arrive (a line is returned once its end is read).</summary>
    public static IEnumerable<string> Read(TextReader reader)
    {
        var line = new StringBuilder();
        var buffer = new char[1 << 14];
        int read;
        while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            int start = 0;
            for (int i = 0; i < read; i++)
            {
                if (buffer[i] != '\n') continue;
                line.Append(buffer, start, i - start);
                if (line.Length > 0 && line[^1] == '\r') line.Length--;   // \r\n: the \r belongs to the line ending
                yield return line.ToString();
                line.Clear();
                start = i + 1;
            }
            line.Append(buffer, start, read - start);
        }
        if (line.Length > 0) yield return line.ToString();                  // text after the last line ending
    }

    /// <summary>
    /// Where the lines of UTF-8 <paramref name="bytes"/> are, from <paramref name="start"/> on (after a BOM, say): each
    /// line's first byte and length, its ending (<c>\n</c> or <c>\r\n</c>) left out. For readers that decode line by line.
    /// </summary>
    public static IEnumerable<(int Start, int Length)> Ranges(byte[] bytes, int start = 0)
    {
        while (start < bytes.Length)
        {
            int newline = Array.IndexOf(bytes, (byte)'\n', start);
            int end = newline < 0 ? bytes.Length : newline;
            int length = end - start;
            if (newline >= 0 && length > 0 && bytes[end - 1] == (byte)'\r') length--;
            yield return (start, length);
            start = end + 1;
        }
    }
}
