using System.Text;
using Transformers.Data;

namespace Transformers.Tests;

/// <summary>A line ends at \n or \r\n and nowhere else, in every reader: strings, streams, and the strict file reader.</summary>
public sealed class TextLinesTests
{
    [Theory]
    [InlineData("", new string[0])]
    [InlineData("a", new[] { "a" })]
    [InlineData("a\n", new[] { "a" })]                        // a final line ending does not start a line
    [InlineData("a\n\n", new[] { "a", "" })]                  // an empty line is a line
    [InlineData("\n", new[] { "" })]
    [InlineData("a\r\nb", new[] { "a", "b" })]
    [InlineData("a\rb\n", new[] { "a\rb" })]                  // a lone CR stays inside its line
    [InlineData("a\r", new[] { "a\r" })]                      // ... also at the end of the text
    [InlineData("a\r\r\n", new[] { "a\r" })]                  // only the CR of CRLF belongs to the line ending
    [InlineData("\r\n\r\n", new[] { "", "" })]
    [InlineData("a\u0085b\u2028c\u2029d\fe\vf\n", new[] { "a\u0085b\u2028c\u2029d\fe\vf" })]   // NEL, LS, PS, FF, VT are not line ends
    [InlineData("\u0001\u0000\t\n", new[] { "\u0001\u0000\t" })]
    public void Split_EndsLinesAtLfAndCrLfOnly(string text, string[] expected)
    {
        Assert.Equal(expected, TextLines.Split(text));
        Assert.Equal(expected, TextLines.Read(new MemoryStream(Encoding.UTF8.GetBytes(text))));
        Assert.Equal(expected, Utf8Lines.Split(Encoding.UTF8.GetBytes(text), "test").Select(l => l.Text));
    }

    [Fact]
    public void Read_Stream_DropsBom_InvalidBytesBecomeReplacementCharacters_LinesKept()
    {
        byte[] bytes = [0xEF, 0xBB, 0xBF, (byte)'a', 0xFF, (byte)'b', (byte)'\n', 0xC3, (byte)'\r', (byte)'\n', 0xE2, 0x82, (byte)'\n', (byte)'z'];
        Assert.Equal(["a\uFFFDb", "\uFFFD", "\uFFFD", "z"], TextLines.Read(new MemoryStream(bytes)));
    }

    [Fact]
    public void Read_CrLfSplitAcrossReadBuffers_IsOneLineEnd()
    {
        // The reader fills 16,384-character buffers: put the CR of a CRLF at the last place of the first one.
        var text = new string('x', (1 << 14) - 1) + "\r\n" + "y\r" + new string('z', 1 << 14) + "\n";
        var lines = TextLines.Split(text).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal((1 << 14) - 1, lines[0].Length);
        Assert.Equal("y\r" + new string('z', 1 << 14), lines[1]);
    }

    [Fact]
    public void Read_FuzzedText_LineCountIsTheNumberOfLineFeeds()
    {
        var rng = new Random(5);
        var chars = "ab \r\n\t\u0001\u0085\u2028é".ToCharArray();
        var text = new string(Enumerable.Range(0, 20_000).Select(_ => chars[rng.Next(chars.Length)]).ToArray()) + "\n";
        Assert.Equal(text.Count(c => c == '\n'), TextLines.Split(text).Count());
        Assert.Equal(text.Count(c => c == '\n'), Utf8Lines.Split(Encoding.UTF8.GetBytes(text), "fuzz").Count());
    }

    [Fact]
    public void Ranges_LeaveOutTheLineEnding()
    {
        var bytes = Encoding.ASCII.GetBytes("ab\r\nc\rd\n\ne");
        Assert.Equal([(0, 2), (4, 3), (8, 0), (9, 1)], TextLines.Ranges(bytes));
    }
}
