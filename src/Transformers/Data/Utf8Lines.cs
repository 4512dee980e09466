using System.Text;

namespace Transformers.Data;

/// <summary>A 1-based line of a text file; <see cref="Error"/> is set (and Text empty) when the line is not valid UTF-8.</summary>
public readonly record struct NumberedLine(int Number, string Text, CorpusFormatException? Error = null);

/// <summary>
/// Splits a UTF-8 file into lines with strict decoding. Documented behaviour: a leading UTF-8 BOM
/// is dropped, lines end at <c>\n</c> or <c>\r\n</c> and nowhere else (<see cref="TextLines"/>: a lone
/// <c>\r</c> stays in its line), a final newline does not start an extra line, and an invalid byte
/// sequence marks its line with an error that names the file, line and byte column.
/// </summary>
public static class Utf8Lines
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static IEnumerable<NumberedLine> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"file not found: {path}", path);
        return Split(File.ReadAllBytes(path), path);
    }

    /// <summary>Splits <paramref name="bytes"/>; <paramref name="name"/> is used in error messages.</summary>
    public static IEnumerable<NumberedLine> Split(byte[] bytes, string name)
    {
        var number = 0;
        foreach (var (start, length) in TextLines.Ranges(bytes, bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble) ? 3 : 0))
            yield return Decode(bytes, start, length, name, ++number);
    }

    private static NumberedLine Decode(byte[] bytes, int start, int length, string name, int number)
    {
        try
        {
            return new NumberedLine(number, Strict.GetString(bytes, start, length));
        }
        catch (DecoderFallbackException e)
        {
            var column = e.Index >= 0 ? $" at byte {e.Index + 1}" : "";
            return new NumberedLine(number, "", new CorpusFormatException(name, $"line {number}", null, $"invalid UTF-8{column}", e));
        }
    }
}
